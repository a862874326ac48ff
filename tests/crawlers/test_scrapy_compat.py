"""The private Scrapy and scrapy-playwright APIs in crawlers/scrapy_compat.py: these fail when
one disappears or changes, so an upgrade is caught here rather than mid-crawl."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from scrapy.core.downloader import Slot
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Request, Response
from scrapy.utils.misc import build_from_crawler
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from crawlers.playwright_handler import LazyPlaywrightHandler
from crawlers.scrapy_compat import PLAYWRIGHT_HANDLER_HOOKS, seed_robots
from crawlers.throttle import ConditionalAutoThrottle
from tests.support.crawler import make_crawler


def parameters(function) -> tuple[str, ...]:
    return tuple(inspect.signature(function).parameters)[1:]  # without self


def test_robots_middleware_keeps_its_parsers_per_netloc():
    middleware = build_from_crawler(RobotsTxtMiddleware, make_crawler())
    assert middleware._parsers == {}
    assert callable(getattr(middleware._parserimpl, "from_crawler", None))
    seed_robots(middleware, "shop.example", b"User-agent: *\nDisallow: /x\n")
    seed_robots(middleware, "none.example", None)
    parser = asyncio.run(middleware.robot_parser(Request("http://shop.example/x")))
    assert parser is middleware._parsers["shop.example"]
    assert not parser.allowed("http://shop.example/x", "bot")
    assert asyncio.run(middleware.robot_parser(Request("http://none.example/"))) is None


def test_autothrottle_delay_policy_hook():
    assert parameters(AutoThrottle._adjust_delay) == ("slot", "latency", "response")


@pytest.mark.parametrize(
    ("throttle_class", "status", "delay"),
    [
        (AutoThrottle, 200, 1.0),  # a fast answer halves the gap to the target
        (AutoThrottle, 304, 2.0),  # stock: a non-200 never lowers the delay
        (ConditionalAutoThrottle, 304, 1.0),  # ours: a 304 counts as a normal answer
        (ConditionalAutoThrottle, 500, 2.0),
    ],
)
def test_autothrottle_adjusts_through_the_hook(throttle_class, status, delay):
    throttle = build_from_crawler(throttle_class, make_crawler(CONCURRENT_REQUESTS_PER_DOMAIN=1))
    throttle.mindelay, throttle.maxdelay = 0.0, 10.0  # set at spider_opened
    slot = Slot(1, 2.0, 0)
    throttle._adjust_delay(slot, 0.0, Response("http://shop.example/", status=status))
    assert slot.delay == delay


@pytest.mark.parametrize(("name", "expected"), sorted(PLAYWRIGHT_HANDLER_HOOKS.items()))
def test_playwright_handler_hooks_keep_their_signatures(name, expected):
    hook = getattr(ScrapyPlaywrightDownloadHandler, name)
    assert parameters(hook) == expected


def test_every_private_playwright_method_the_handler_overrides_is_listed():
    overridden = {
        name
        for name, value in vars(LazyPlaywrightHandler).items()
        if name.startswith("_")
        and not name.startswith("__")
        and callable(value)
        and hasattr(ScrapyPlaywrightDownloadHandler, name)
    }
    assert "_download_request" in overridden
    assert overridden <= set(PLAYWRIGHT_HANDLER_HOOKS)

"""The downloader and spider middlewares of crawlers/middlewares/, each built by Scrapy from a
crawler with the project's settings (tests.support.crawler), without the network."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from scrapy.core.downloader import Downloader, Slot
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.misc import build_from_crawler

from crawlers.crawl_stats import job_stats
from crawlers.middlewares.budget import PageBudgetMiddleware
from crawlers.middlewares.conditional import DUPLICATE_SKIPPED, ConditionalRequestMiddleware
from crawlers.middlewares.politeness import CrawlDelayMiddleware
from crawlers.middlewares.render import AppShellFallbackMiddleware
from crawlers.middlewares.robots import SharedRobotsTxtMiddleware
from crawlers.middlewares.ssrf import SsrfGuardMiddleware
from crawlers.middlewares.traps import TrapLimiterMiddleware
from crawlers.state import CrawlState, KnownPage
from crawlers.traps import TrapGuard
from tests.support.crawler import make_crawler

SITE = "http://shop.example"


def state(**values) -> CrawlState:
    return CrawlState(
        **{
            "domain": "shop.example",
            "domain_id": "d",
            "site_hosts": ("shop.example",),
            "max_pages": 1000,
            "max_depth": 8,
            "render_js": False,
            "pattern_limit": 50,
            **values,
        }
    )


def crawler_with(crawl_state: CrawlState, **cmdline):
    crawler = make_crawler(**cmdline)
    crawler.spider = SimpleNamespace(state=crawl_state, crawl_delay=None)
    return crawler


def page(path: str, depth: int = 0, **meta) -> Request:
    url = SITE + path
    return Request(url, meta={"omni_page": True, "omni_url": url, "omni_depth": depth, **meta})


def counters(crawler) -> dict:
    return job_stats(crawler.stats.get_stats(), 0.0, 0.0)


# ------------------------------------------------------------------ SSRF guard

SSRF_CASES = [
    # (cmdline settings, url, blocked)
    ({"OMNI_ALLOW_PRIVATE_NETWORKS": False}, "http://127.0.0.1:8080/", True),
    ({"OMNI_ALLOW_PRIVATE_NETWORKS": False}, "http://10.1.2.3/", True),
    ({"OMNI_ALLOW_PRIVATE_NETWORKS": False}, "http://[::1]:80/", True),
    ({"OMNI_ALLOW_PRIVATE_NETWORKS": False}, "http://93.184.215.14/", False),
    (
        {"OMNI_ALLOW_PRIVATE_NETWORKS": False, "OMNI_ALLOWED_PRIVATE_HOSTS": "127.0.0.1:8080"},
        "http://127.0.0.1:8080/",
        False,
    ),
    (
        {"OMNI_ALLOW_PRIVATE_NETWORKS": False, "OMNI_ALLOWED_PRIVATE_HOSTS": "127.0.0.1:8080"},
        "http://127.0.0.1:8081/",
        True,
    ),
    (
        {
            "OMNI_ALLOW_PRIVATE_NETWORKS": False,
            "OMNI_ALLOWED_PRIVATE_HOSTS": ["LOCALHOST:9000", "10.0.0.5:80"],
        },
        "http://10.0.0.5/",
        False,
    ),
]


@pytest.mark.parametrize(("cmdline", "url", "blocked"), SSRF_CASES)
def test_ssrf_policy_comes_from_the_crawler_settings(omni_env, cmdline, url, blocked):
    """The environment allows private networks; a command-line setting (`-s`) turns the guard
    back on, and the policy follows the crawler's settings."""
    omni_env(OMNI_ALLOW_PRIVATE_NETWORKS="1", OMNI_ALLOWED_PRIVATE_HOSTS="")
    middleware = build_from_crawler(SsrfGuardMiddleware, make_crawler(**cmdline))
    request = Request(url)
    if blocked:
        with pytest.raises(IgnoreRequest, match="^blocked: "):
            asyncio.run(middleware.process_request(request))
    else:
        assert asyncio.run(middleware.process_request(request)) is None


@pytest.mark.parametrize("value", [True, "1", "True"])
def test_ssrf_guard_is_off_when_private_networks_are_allowed(value):
    with pytest.raises(NotConfigured):
        build_from_crawler(SsrfGuardMiddleware, make_crawler(OMNI_ALLOW_PRIVATE_NETWORKS=value))


def test_the_environment_sets_the_ssrf_policy_below_the_command_line(omni_env):
    omni_env(OMNI_ALLOW_PRIVATE_NETWORKS="0", OMNI_ALLOWED_PRIVATE_HOSTS="Example.test:8000, ")
    guard = build_from_crawler(SsrfGuardMiddleware, make_crawler())
    assert guard.policy.allowed_hosts == frozenset({"example.test:8000"})
    with pytest.raises(NotConfigured):
        build_from_crawler(SsrfGuardMiddleware, make_crawler(OMNI_ALLOW_PRIVATE_NETWORKS=True))


# ------------------------------------------------------------------ page budget and depth


def test_page_budget_and_depth_limit_drop_requests_and_count_them():
    crawler = crawler_with(state(max_pages=2, max_depth=1))
    middleware = build_from_crawler(PageBudgetMiddleware, crawler)
    asset = Request(SITE + "/robots.txt")
    results = [
        middleware.get_processed_request(r, None)
        for r in (page("/a", 0), page("/deep", 2), asset, page("/b", 1), page("/c", 1))
    ]
    assert [r.url if r else None for r in results] == [
        SITE + "/a",
        None,
        SITE + "/robots.txt",
        SITE + "/b",
        None,
    ]
    stats = counters(crawler)
    assert (stats["scheduled"], stats["depth_skipped"], stats["budget_skipped"]) == (2, 1, 1)


# ------------------------------------------------------------------ crawler traps


def test_trap_limiter_drops_a_long_next_page_chain_and_remembers_it():
    crawl_state = state(traps=TrapGuard(limit=3))
    crawler = crawler_with(crawl_state)
    middleware = build_from_crawler(TrapLimiterMiddleware, crawler)
    allowed = middleware.get_processed_request(page("/list?page=2", 2, omni_chain=2), None)
    trapped = middleware.get_processed_request(page("/list?page=9", 3, omni_chain=9), None)
    listed = middleware.get_processed_request(
        page("/list?page=10", 3, omni_chain=9, omni_sitemap=True), None
    )
    assert allowed is not None and listed is not None and trapped is None
    reason, depth = crawl_state.trap_skipped[SITE + "/list?page=9"]
    assert reason.startswith("crawler trap: ") and depth == 3
    assert counters(crawler)["trap_skipped"] == 1


# ------------------------------------------------------------------ conditional requests

NOW = datetime.now(UTC)
KNOWN = {
    SITE + "/etag": KnownPage("1", "scraped", '"v1"', None, "h", 0),
    SITE + "/both": KnownPage("2", "scraped", '"v2"', "Mon, 02 Jan 2026 00:00:00 GMT", "h", 0),
    SITE + "/none": KnownPage("3", "scraped", None, None, "h", 0),
    SITE + "/failed": KnownPage("4", "failed", '"v4"', None, None, 0),
    SITE + "/print": KnownPage(
        "5",
        "duplicate",
        '"p"',
        None,
        None,
        0,
        scraped_at=NOW - timedelta(days=1),
        canonical_of=SITE + "/etag",
    ),
}
CONDITIONAL_CASES = [
    # (path, extra meta, force, If-None-Match, If-Modified-Since, counted)
    ("/etag", {}, False, b'"v1"', None, 1),
    ("/both", {}, False, b'"v2"', b"Mon, 02 Jan 2026 00:00:00 GMT", 1),
    ("/none", {}, False, None, None, 0),
    ("/failed", {}, False, None, None, 0),
    ("/unknown", {}, False, None, None, 0),
    ("/etag", {}, True, None, None, 0),  # omni refresh --force
    ("/etag", {"playwright": True}, False, None, None, 0),  # a render needs the full page
]


@pytest.mark.parametrize(
    ("path", "meta", "force", "etag", "modified", "counted"), CONDITIONAL_CASES
)
def test_conditional_request_headers(path, meta, force, etag, modified, counted):
    crawler = crawler_with(state(known=KNOWN, force=force))
    middleware = build_from_crawler(ConditionalRequestMiddleware, crawler)
    request = page(path, **meta)
    assert middleware.process_request(request) is None
    assert request.headers.get(b"If-None-Match") == etag
    assert request.headers.get(b"If-Modified-Since") == modified
    assert counters(crawler)["conditional_requests"] == counted


def test_a_duplicate_of_a_page_that_answered_304_is_not_asked():
    crawler = crawler_with(state(known=KNOWN, statuses={SITE + "/etag": 304}))
    middleware = build_from_crawler(ConditionalRequestMiddleware, crawler)
    with pytest.raises(IgnoreRequest, match=DUPLICATE_SKIPPED):
        middleware.process_request(page("/print"))
    assert counters(crawler)["duplicate_skipped"] == 1
    # its canonical page answered 200 this time: asked, conditionally
    crawler = crawler_with(state(known=KNOWN, statuses={SITE + "/etag": 200}))
    request = page("/print")
    build_from_crawler(ConditionalRequestMiddleware, crawler).process_request(request)
    assert request.headers.get(b"If-None-Match") == b'"p"'


# ------------------------------------------------------------------ robots.txt Crawl-delay


def test_crawl_delay_raises_the_slot_delay_and_the_throttle_floor():
    crawler = crawler_with(state(), DOWNLOAD_HANDLERS={"http": None, "https": None})
    downloader = Downloader(crawler)
    crawler.engine = SimpleNamespace(downloader=downloader)
    throttle = crawler.get_extension(AutoThrottle)
    throttle.mindelay = 0.0  # set at spider_opened
    middleware = build_from_crawler(CrawlDelayMiddleware, crawler)
    request = Request(SITE + "/a")

    assert middleware.process_request(request) is None  # no Crawl-delay: nothing changes
    assert downloader.per_slot_settings == {} and throttle.mindelay == 0.0

    crawler.spider.crawl_delay = 2.0
    middleware.process_request(request)  # before the slot exists
    key = downloader.get_slot_key(request)
    assert downloader.per_slot_settings[key] == {"delay": 2.0, "jitter": 0}
    assert throttle.mindelay == 2.0
    downloader.slots[key] = Slot(8, 0.5, 0.5)  # e.g. recreated after an idle slot was collected
    middleware.process_request(request)
    assert (downloader.slots[key].delay, downloader.slots[key].jitter) == (2.0, 0)
    downloader.slots[key].delay = 5.0  # AutoThrottle slowed down further: kept
    middleware.process_request(request)
    assert downloader.slots[key].delay == 5.0


# ------------------------------------------------------------------ app-shell fallback

SHELL = b"<html><head><script src=app.js></script></head><body><div id=root></div></body></html>"
ARTICLE = (
    b"<html><body><script>x()</script><p>" + b"Words people read. " * 20 + b"</p></body></html>"
)
RENDER_CASES = [
    # (body, status, request meta, rendered again)
    (SHELL, 200, {}, True),
    (ARTICLE, 200, {}, False),
    (SHELL, 404, {}, False),
    (SHELL, 200, {"playwright": True}, False),
    (SHELL, 200, {"omni_page": False}, False),
]


@pytest.mark.parametrize(("body", "status", "meta", "rendered"), RENDER_CASES)
def test_app_shell_fallback(body, status, meta, rendered):
    middleware = build_from_crawler(AppShellFallbackMiddleware, crawler_with(state()))
    request = page("/app", **meta)
    request.headers[b"If-None-Match"] = b'"old"'
    response = HtmlResponse(request.url, status=status, body=body, request=request)
    result = middleware.process_response(request, response)
    if not rendered:
        assert result is response
        return
    assert isinstance(result, Request) and result.dont_filter
    assert result.meta["playwright"] and result.meta["render_mode"] == "playwright"
    assert b"If-None-Match" not in result.headers


def test_app_shell_fallback_leaves_non_html_alone():
    middleware = build_from_crawler(AppShellFallbackMiddleware, crawler_with(state()))
    request = page("/file.txt")
    response = Response(request.url, status=200, body=SHELL, request=request)
    assert middleware.process_response(request, response) is response


# ------------------------------------------------------------------ shared robots.txt


@pytest.mark.parametrize(
    ("body", "allowed"),
    [
        (b"User-agent: *\nDisallow: /private\n", {"/private/x": False, "/public": True}),
        (None, {"/private/x": True, "/public": True}),  # no robots.txt: everything allowed
    ],
)
def test_seeded_robots_txt_is_used_without_downloading_it(body, allowed):
    crawler = crawler_with(state())  # no engine: a download would fail
    middleware = build_from_crawler(SharedRobotsTxtMiddleware, crawler)
    middleware.seed(SITE + "/", body)
    middleware.seed(SITE + "/", b"User-agent: *\nDisallow: /\n")  # the first answer stays
    for path, ok in allowed.items():
        request = Request(SITE + path)
        if ok:
            asyncio.run(middleware.process_request(request))
        else:
            with pytest.raises(IgnoreRequest):
                asyncio.run(middleware.process_request(request))

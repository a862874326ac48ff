"""Every private Scrapy / scrapy-playwright API this project relies on, in one place.

Each has no public equivalent in Scrapy 2.19 / scrapy-playwright 0.0.48 (the public ones are
used elsewhere: `Downloader.get_slot_key` and `.slots`, `DOWNLOAD_SLOTS`-style
`per_slot_settings`, `ExecutionEngine.scheduler`, `Crawler.get_extension`).
`tests/crawlers/test_scrapy_compat.py` fails when one of them disappears or changes its
signature, so an upgrade breaks there and not in the middle of a crawl.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.extensions.throttle import AutoThrottle
from scrapy.utils.misc import build_from_crawler

if TYPE_CHECKING:
    from scrapy.core.downloader import Slot
    from scrapy.http import Response

# scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler methods that
# crawlers.playwright_handler.LazyPlaywrightHandler overrides or calls, with their parameters
# (after self). The handler has no public extension points for launching lazily, routing every
# request through a check, or setting up each browser context.
PLAYWRIGHT_HANDLER_HOOKS: dict[str, tuple[str, ...]] = {
    "_maybe_launch_in_thread": (),
    "_launch": (),
    "_download_request": ("request", "spider"),
    "_make_request_handler": (
        "context_name",
        "method",
        "url",
        "headers",
        "body",
        "encoding",
        "spider",
        "initial_request_done",
    ),
    "_create_browser_context": ("name", "context_kwargs", "spider"),
    "_apply_page_methods": ("page", "request", "spider"),
}


def seed_robots(middleware: RobotsTxtMiddleware, netloc: str, body: bytes | None) -> None:
    """Give Scrapy's robots middleware the robots.txt of `netloc` as already downloaded (None:
    there is none, everything is allowed), unless it has one. Scrapy downloads it itself
    otherwise; the parsers it keeps per netloc are private (`_parsers`, `_parserimpl`)."""
    parsers = middleware._parsers
    if netloc in parsers:
        return
    parsers[netloc] = (
        None
        if body is None
        else build_from_crawler(middleware._parserimpl, middleware.crawler, body)
    )


class AutoThrottleWithResponseHook(AutoThrottle):
    """AutoThrottle whose delay policy sees `response_for_delay(response)` instead of the
    response. Scrapy's only place to change the policy is the private
    `_adjust_delay(slot, latency, response)`."""

    def response_for_delay(self, response: Response) -> Response:
        return response

    def _adjust_delay(self, slot: Slot, latency: float, response: Response) -> None:
        super()._adjust_delay(slot, latency, self.response_for_delay(response))

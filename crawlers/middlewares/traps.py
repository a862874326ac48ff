"""Crawler traps (endless calendars, session-id loops, ever-growing URLs): discovered links are
bounded by what makes a trap a trap (`crawlers.traps.TrapGuard`), not by the shape of the URL.
Sitemap URLs are never bounded."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from crawlers.crawl_stats import count
from crawlers.state import state_of
from crawlers.urls import pattern_key

if TYPE_CHECKING:
    from scrapy.http import Request, Response


class TrapLimiterMiddleware(BaseSpiderMiddleware):
    def get_processed_request(self, request: Request, response: Response | None) -> Request | None:
        meta = request.meta
        if not meta.get("omni_page"):
            return request
        state = state_of(self.crawler)
        reason = state.traps.verdict(
            meta["omni_url"],
            pattern_key(meta["omni_url"]),
            meta.get("omni_chain", 0),
            meta.get("omni_sitemap", False),
        )
        if reason:
            count(self.crawler.stats, "trap_skipped")
            # remembered (`scraped_pages` status `skipped`), so a re-crawl that meets the link
            # again on an unchanged page does not follow it either
            state.trap_skipped[meta["omni_url"]] = (f"crawler trap: {reason}", meta["omni_depth"])
            return None
        return request

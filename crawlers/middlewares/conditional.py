"""Conditional re-crawl: send back the ETag / Last-Modified stored for a page, for a
duplicate of one (a print view, a sort order) or for a linked file that is not a page (a `.py`
download, stored `failed` with "not HTML"), unless the crawl is forced. A duplicate whose
canonical page answered 304 in this crawl is not asked at all (re-checked monthly)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest

from crawlers.crawl_stats import count
from crawlers.recheck import duplicate_skippable
from crawlers.state import state_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request

DUPLICATE_SKIPPED = "duplicate of a page that answered 304"


class ConditionalRequestMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        meta = request.meta
        # A browser render, or a page asked again because its canonical failed, must get the
        # full page, never a 304.
        if not meta.get("omni_page") or meta.get("playwright") or meta.get("omni_canonical_failed"):
            return
        state = state_of(self.crawler)
        known = state.known.get(meta["omni_url"])
        # `omni refresh --force`: every page downloaded and re-extracted.
        if (
            known is None
            or state.force
            or (known.status not in ("scraped", "duplicate") and not known.not_html)
        ):
            return
        if known.status == "duplicate" and duplicate_skippable(
            state.statuses.get(known.canonical_of or ""), known.scraped_at, datetime.now(UTC)
        ):
            count(self.crawler.stats, "duplicate_skipped")
            raise IgnoreRequest(DUPLICATE_SKIPPED)
        sent = False
        if known.etag:
            request.headers[b"If-None-Match"] = known.etag
            sent = True
        if known.last_modified:
            request.headers[b"If-Modified-Since"] = known.last_modified
            sent = True
        if sent:
            count(self.crawler.stats, "conditional_requests")
        return

"""Conditional re-crawl: send back the ETag / Last-Modified stored for a page or for a
duplicate of one (a print view, a sort order), unless the crawl is forced."""

from __future__ import annotations

from typing import Any


class ConditionalRequestMiddleware:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> ConditionalRequestMiddleware:
        return cls(crawler)

    def process_request(self, request: Any) -> None:
        meta = request.meta
        # A browser render must get the full page, never a 304.
        if not meta.get("omni_page") or meta.get("playwright"):
            return
        state = self.crawler.spider.state
        known = state.known.get(meta["omni_url"])
        # `omni refresh --force`: every page downloaded and re-extracted.
        if known is None or known.status not in ("scraped", "duplicate") or state.force:
            return
        sent = False
        if known.etag:
            request.headers[b"If-None-Match"] = known.etag
            sent = True
        if known.last_modified:
            request.headers[b"If-Modified-Since"] = known.last_modified
            sent = True
        if sent:
            state.count("conditional_requests")
        return

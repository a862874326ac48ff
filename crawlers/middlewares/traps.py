"""Crawler traps (endless calendars, ids and session tokens in URLs): at most
`OMNI_CRAWL_PATTERN_LIMIT` pages per URL pattern (`crawlers.urls.pattern_key`)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from crawlers.urls import pattern_key


class TrapLimiterMiddleware(BaseSpiderMiddleware):
    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.per_pattern: Counter[str] = Counter()

    def get_processed_request(self, request: Any, response: Any) -> Any:
        if not request.meta.get("omni_page"):
            return request
        state = self.crawler.spider.state
        key = pattern_key(request.url)
        self.per_pattern[key] += 1
        if self.per_pattern[key] > state.pattern_limit:
            state.count("trap_skipped")
            return None
        return request

"""The domain's page budget (`max_pages`) and depth limit (`max_depth`)."""

from __future__ import annotations

from typing import Any

from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from crawlers.crawl_stats import count, record


class PageBudgetMiddleware(BaseSpiderMiddleware):
    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.scheduled = 0

    def get_processed_request(self, request: Any, response: Any) -> Any:
        meta = request.meta
        if not meta.get("omni_page"):
            return request
        state = self.crawler.spider.state
        if meta["omni_depth"] > state.max_depth:
            count(self.crawler.stats, "depth_skipped")
            return None
        if self.scheduled >= state.max_pages:
            count(self.crawler.stats, "budget_skipped")
            return None
        self.scheduled += 1
        record(self.crawler.stats, "scheduled", self.scheduled)
        return request

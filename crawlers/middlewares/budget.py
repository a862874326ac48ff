"""The domain's page budget (`max_pages`) and depth limit (`max_depth`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from crawlers.crawl_stats import count, record
from crawlers.state import state_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response


class PageBudgetMiddleware(BaseSpiderMiddleware):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.scheduled = 0

    def get_processed_request(self, request: Request, response: Response | None) -> Request | None:
        meta = request.meta
        if not meta.get("omni_page"):
            return request
        state = state_of(self.crawler)
        if meta["omni_depth"] > state.max_depth:
            count(self.crawler.stats, "depth_skipped")
            return None
        if self.scheduled >= state.max_pages:
            count(self.crawler.stats, "budget_skipped")
            return None
        self.scheduled += 1
        record(self.crawler.stats, "scheduled", self.scheduled)
        return request

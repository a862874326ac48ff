"""robots.txt `Crawl-delay`: the minimum spacing of requests to a host.

The spider reads the delay from robots.txt in `start()`; this raises the download slot's delay
(and AutoThrottle's floor) to it, so AutoThrottle can slow down further but never go faster.
"""

from __future__ import annotations

from typing import Any

from scrapy.extensions.throttle import AutoThrottle


class CrawlDelayMiddleware:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self._throttle_floor_set = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> CrawlDelayMiddleware:
        return cls(crawler)

    def process_request(self, request: Any) -> None:
        delay = getattr(self.crawler.spider, "crawl_delay", None)
        if not delay:
            return
        # Slots are garbage-collected when idle and recreated: apply on every request (cheap).
        _, slot = self.crawler.engine.downloader._get_slot(request)
        if slot.delay < delay:
            slot.delay = delay
            slot.jitter = 0
        if not self._throttle_floor_set:
            for extension in self.crawler.extensions.middlewares:
                if isinstance(extension, AutoThrottle):
                    extension.mindelay = max(extension.mindelay, delay)
            self._throttle_floor_set = True
        return

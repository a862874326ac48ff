"""robots.txt `Crawl-delay`: the minimum spacing of requests to a host.

The spider reads the delay from robots.txt in `start()`; this raises the download slot's delay
(and AutoThrottle's floor) to it, so AutoThrottle can slow down further but never go faster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.extensions.throttle import AutoThrottle

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request


class CrawlDelayMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._throttle_floor_set = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlDelayMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        delay = getattr(self.crawler.spider, "crawl_delay", None)
        if not delay:
            return
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        # A slot created for the key later (the first request, or after an idle slot was
        # garbage-collected) starts at the delay, as with the DOWNLOAD_SLOTS setting ...
        slot_settings = downloader.per_slot_settings.setdefault(key, {})
        if slot_settings.get("delay", 0) < delay:
            slot_settings.update(delay=delay, jitter=0)
        # ... and a slot that exists is raised to it.
        if (slot := downloader.slots.get(key)) is not None and slot.delay < delay:
            slot.delay = delay
            slot.jitter = 0
        if not self._throttle_floor_set:
            if (throttle := self.crawler.get_extension(AutoThrottle)) is not None:
                throttle.mindelay = max(throttle.mindelay, delay)
            self._throttle_floor_set = True
        return

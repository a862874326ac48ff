"""The crawl's frontier, bounded in memory: Scrapy's scheduler keeps up to
`OMNI_CRAWL_FRONTIER_MEMORY` requests in memory and spills the rest to a disk queue (Scrapy's
own pickle queues) in a private temporary directory, removed when the crawl closes. A big
site's frontier (tens of thousands of discovered pages) so costs disk, not RSS; a small one
never touches the disk.

The directory is not `JOBDIR`: nothing is meant to survive the process (a killed crawl resumes
from what it stored, docs/crawling.md), and `JOBDIR` would also switch on Scrapy's
spider-state extension. Requests pop from memory first, then from disk in priority order, so
past the bound the order is breadth-first per queue rather than across both.
"""

from __future__ import annotations

import shutil
import tempfile
from typing import TYPE_CHECKING, Any

from scrapy.core.scheduler import Scheduler
from scrapy.dupefilters import BaseDupeFilter
from scrapy.utils.misc import build_from_crawler, load_object

from crawlers.crawl_stats import count

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request
    from twisted.internet.defer import Deferred


class SpillingScheduler(Scheduler):
    def __init__(self, dupefilter: BaseDupeFilter, *, memory_bound: int, **kwargs: Any) -> None:
        self.frontier_dir = tempfile.mkdtemp(prefix="omni-frontier-")
        super().__init__(dupefilter, jobdir=self.frontier_dir, **kwargs)
        self.memory_bound = max(1, memory_bound)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SpillingScheduler:
        settings = crawler.settings
        return cls(
            build_from_crawler(load_object(settings["DUPEFILTER_CLASS"]), crawler),
            memory_bound=settings.getint("OMNI_CRAWL_FRONTIER_MEMORY"),
            dqclass=load_object(settings["SCHEDULER_DISK_QUEUE"]),
            mqclass=load_object(settings["SCHEDULER_MEMORY_QUEUE"]),
            logunser=settings.getbool("SCHEDULER_DEBUG"),
            stats=crawler.stats,
            pqclass=load_object(settings["SCHEDULER_PRIORITY_QUEUE"]),
            crawler=crawler,
        )

    def _dqpush(self, request: Request) -> bool:
        if len(self.mqs) < self.memory_bound:
            return False  # in memory
        spilled = super()._dqpush(request)
        if spilled and self.stats is not None:
            count(self.stats, "frontier_spilled")
        return spilled

    def close(self, reason: str) -> Deferred[None] | None:
        try:
            return super().close(reason)
        finally:
            shutil.rmtree(self.frontier_dir, ignore_errors=True)

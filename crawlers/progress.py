"""Progress of a running crawl: every second to the `OMNI_PROGRESS_CALLBACK` setting (a callable
taking the stats dict) and every few seconds into the crawl job's metadata (the dashboard's
"Crawls running" panel): the crawl's counters plus `queued` (requests waiting in the scheduler)
and `pages_per_s`. A crawl whose job is no longer held by its runner stops."""

from __future__ import annotations

import logging
import time
from collections.abc import Sized
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.task import LoopingCall

from core.config import get_settings
from crawlers.crawl_stats import job_stats
from db import jobs
from db.connection import Work, connect

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.spiders import Spider
    from twisted.internet.defer import Deferred

logger = logging.getLogger(__name__)

JOB_UPDATE_EVERY_S = 2.0


class ProgressExtension:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.callback = crawler.settings.get("OMNI_PROGRESS_CALLBACK")
        # Each progress write renews the job's lease (db/jobs.py), whichever process started it.
        self.lease_s = get_settings().job_lease_s
        self.task: LoopingCall | None = None
        self.last_job_update = 0.0
        self.closing: Deferred[None] | None = (
            None  # the Deferred of a close this extension asked for
        )
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressExtension:
        return cls(crawler)

    def opened(self, spider: Spider) -> None:
        self.task = LoopingCall(self.tick)
        self.task.start(1.0, now=False)

    def closed(self, spider: Spider) -> None:
        if self.task and self.task.running:
            self.task.stop()

    def _queued(self) -> int:
        scheduler = self.crawler.engine.scheduler
        try:
            return len(scheduler) if isinstance(scheduler, Sized) else 0
        except TypeError:
            return 0

    def tick(self) -> None:
        state = getattr(self.crawler.spider, "state", None)
        if state is None:
            return
        stats = job_stats(self.crawler.stats.get_stats(), state.started)
        stats["queued"] = self._queued()
        stats["pages_per_s"] = round(stats["pages_seen"] / max(stats["duration_s"], 0.001), 1)
        if self.callback:
            self.callback(stats)
        now = time.monotonic()
        if state.job_id and now - self.last_job_update >= JOB_UPDATE_EVERY_S:
            self.last_job_update = now
            try:
                with connect(autocommit=True, work=Work.JOB) as conn:
                    held = jobs.update_metadata(
                        conn,
                        state.job_id,
                        {"progress": stats},
                        runner=state.runner,
                        lease_s=self.lease_s,
                    )
            except Exception:
                logger.warning("could not record crawl progress", exc_info=True)
                return
            if not held and state.runner:
                # The job failed or another runner took it over: this crawl is not wanted.
                logger.warning(
                    "crawl job %s is no longer held by this crawl; stopping", state.job_id
                )
                if self.closing is None:
                    self.closing = deferred_from_coro(
                        self.crawler.engine.close_spider_async(reason="job_not_held")
                    )
                    self.closing.addErrback(
                        lambda f: logger.error("closing the crawl failed: %s", f.getErrorMessage())
                    )

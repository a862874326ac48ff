"""Enqueue: when the crawl ends, the main-content stage (pipelines/main_content_stage.py) stores
each new and changed page's main content, then the pages whose stored content changed go to the
workers (a page whose new version holds the same knowledge gets no job). Per batch of up to
100 pages, three `content_refresh_jobs` rows (extract, optimize, embed) with
metadata {"page_ids": [...], "crawl_job_id": ...} are committed first, then their messages are
sent by the function the `OMNI_JOB_SENDER` setting names (`workers.dispatch.send_job`; a dotted
path, as Scrapy names its components, so the crawl layer never imports the workers layer above
it). The job types are the registry's page stages (`db/job_kinds.py`). A message that cannot be
sent (Redis away) does not fail the crawl: its row is committed and pending, and the sweeper
(workers/sweeper.py) sends it once Redis is back. Unchanged and duplicate pages enqueue
nothing."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.utils.misc import load_object

from crawlers.crawl_stats import record
from crawlers.items import PageItem
from crawlers.state import state_of
from db import jobs
from db.connection import get_pool
from db.job_kinds import PAGE_STAGES
from pipelines.main_content_stage import (
    JOBS_CREATED_SQL,
    PAGES_AWAITING_JOBS_SQL,
    store_main_content,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.spiders import Spider

logger = logging.getLogger(__name__)

Handler = Callable[[int, FrameType | None], Any]

PAGES_PER_JOB = 100

# stored as new or changed by a killed attempt of this crawl job, before it could enqueue them
RESUMED_SQL = """
SELECT id::text AS id FROM scraped_pages
WHERE domain_id = %s AND metadata->>'crawl_job_id' = %s AND status = 'scraped'
  AND metadata->>'change' IN ('new', 'changed')
"""

# the stored pages' ids, in the order of their URLs
IDS_SQL = """
SELECT p.id::text AS id FROM unnest(%s::text[]) WITH ORDINALITY AS u(url, n)
JOIN scraped_pages p ON p.domain_id = %s AND p.url = u.url ORDER BY u.n
"""


def batches(ids: list[str], size: int = PAGES_PER_JOB) -> list[list[str]]:
    unique = list(dict.fromkeys(ids))
    return [unique[i : i + size] for i in range(0, len(unique), size)]


class EnqueuePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.sender_path: str = crawler.settings.get("OMNI_JOB_SENDER")
        self.resumed: list[str] = []  # page ids
        self.stored: list[str] = []  # URLs
        self.stop_requested = False
        self.watching: dict[int, tuple[Handler, Handler]] = {}
        # After every pipeline's close_spider (which flush the batches): spider_closed.
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EnqueuePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self._watch_for_a_stop()
        state = state_of(self.crawler)
        if state.job_id:
            with get_pool().connection() as conn:
                rows = conn.execute(RESUMED_SQL, (state.domain_id, state.job_id))
                self.resumed = [r["id"] for r in rows]

    def process_item(self, item: PageItem) -> PageItem:
        if item.get("awaits_jobs"):
            self.stored.append(item["url"])
        return item

    def _watch_for_a_stop(self) -> None:
        """Notes a SIGTERM or SIGINT, then hands it on to the handler it replaced (Scrapy's,
        which stops the crawl). One that comes while the spider closes finds the reactor busy
        with the stage, which reads the note between pages."""
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread may set handlers (CrawlerProcess runs there)
        for signum in (signal.SIGTERM, signal.SIGINT):
            handed_on = signal.getsignal(signum)
            if not callable(handed_on):
                continue

            def note(number: int, frame: FrameType | None, handed_on: Handler = handed_on) -> None:
                self.stop_requested = True
                handed_on(number, frame)

            signal.signal(signum, note)
            self.watching[signum] = (note, handed_on)

    def _stop_watching(self) -> None:
        for signum, (note, handed_on) in self.watching.items():
            if signal.getsignal(signum) is note:  # else a stop replaced it (Scrapy's force-kill)
                signal.signal(signum, handed_on)
        self.watching.clear()

    def spider_closed(self, spider: Spider, reason: str = "finished") -> None:
        try:
            self._close(spider, reason)
        finally:
            self._stop_watching()

    def _close(self, spider: Spider, reason: str) -> None:
        state = state_of(spider)
        if state.errors:
            logger.error("not enqueueing: the crawl could not store everything")
            return
        if reason == "shutdown" or self.stop_requested:
            # what the crawl stored is committed; the next attempt (or crawl) runs the stage on
            # the pages it left and queues their jobs, so a stop ends within its grace
            logger.info("stopped: main content and jobs are left to the next attempt")
            if reason != "shutdown":  # the crawl itself finished: the job must not complete
                state.errors.append("stopped before the main-content stage")
            return
        stats = self.crawler.stats
        record(stats, "jobs_enqueued", 0)
        record(stats, "pages_enqueued", 0)
        created: list[tuple[str, str]] = []
        to_enqueue: list[str] = []
        try:
            with get_pool().connection() as conn:
                stored = [r["id"] for r in conn.execute(IDS_SQL, (self.stored, state.domain_id))]
                stored = list(dict.fromkeys([*self.resumed, *stored]))
                stage = store_main_content(
                    conn, state.domain_id, stop_requested=lambda: self.stop_requested
                )
                if stage.stopped:  # the retry runs the rest; the pages done await their jobs
                    state.errors.append("stopped in the main-content stage")
                    return
                # this crawl's changed pages, and any an earlier crawl died before queueing
                awaiting = [
                    r["id"] for r in conn.execute(PAGES_AWAITING_JOBS_SQL, (state.domain_id,))
                ]
            record(stats, "main_content_pages", len(stage.changed) + len(stage.unchanged))
            record(stats, "main_content_unchanged", len(stage.unchanged))
            # the same knowledge as stored: nothing to do, unless the crawl was forced
            skip = set() if state.force else set(stage.unchanged)
            to_enqueue = [pid for pid in dict.fromkeys([*stored, *awaiting]) if pid not in skip]
            if not to_enqueue:  # a re-crawl of an unchanged site: no job, no broker
                return
            with get_pool().connection() as conn:  # one transaction: the job rows, the markers
                conn.execute(JOBS_CREATED_SQL, (to_enqueue,))
                for page_ids in batches(to_enqueue):
                    for job_type in PAGE_STAGES:
                        metadata: dict[str, Any] = {
                            "page_ids": page_ids,
                            "crawl_job_id": state.job_id,
                        }
                        if state.force:
                            metadata["force"] = True
                        job_id = jobs.create(conn, state.domain_id, job_type, metadata)
                        created.append((str(job_id), job_type))
        except Exception as exc:
            logger.exception("enqueueing failed")
            state.errors.append(f"enqueue: {type(exc).__name__}: {exc}")
            created = []
        unsent = self._send(created)
        if unsent:
            logger.warning(
                "%d of %d job messages could not be sent (%s); the jobs are pending "
                "and the sweeper sends them",
                len(unsent),
                len(created),
                unsent[0],
            )
            record(stats, "jobs_unsent", len(unsent))
        record(stats, "jobs_enqueued", len(created))
        record(stats, "pages_enqueued", len(dict.fromkeys(to_enqueue)))

    def _send(self, created: list[tuple[str, str]]) -> list[str]:
        """Send each committed job's message. After the first failure the rest are left to the
        sweeper too (Redis is away: each try could wait for a timeout). Returns the job ids
        not sent, the first with the reason."""
        if not created:
            return []
        send_job = load_object(self.sender_path)  # imported only when there is work
        for n, (job_id, job_type) in enumerate(created):
            try:
                send_job(job_id, job_type)
            except Exception as exc:  # noqa: BLE001 - the rows are committed: the sweeper sends
                return [f"{job_id} ({type(exc).__name__}: {exc})"] + [
                    j for j, _ in created[n + 1 :]
                ]
        return []

"""The crawl's `content_refresh_jobs` row, as seen from the crawl process.

- Held by a parent (`crawlers.run --runner <token>`: the `crawl_domain` actor, `omni crawl`):
  the crawl only records its stats (while the parent still holds the job) and reports ok or
  the reason in its RESULT line; the parent completes or fails the job. The attempt was counted
  once, by the parent's `jobs.start`.
- On its own (`scrapy crawl site -a domain=...`, `run_crawl` without a runner): it creates the
  job if there is none, starts it, and completes or fails it itself.

`domains.last_scraped_at` is updated when a crawl finishes cleanly.
"""

from __future__ import annotations

import logging
import resource
from typing import TYPE_CHECKING, Any

from scrapy import signals

from crawlers.crawl_stats import job_stats
from crawlers.state import CrawlState, state_of
from db import jobs
from db.connection import connect

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.spiders import Spider

logger = logging.getLogger(__name__)

_last_result: dict[str, Any] | None = None


def last_result() -> dict[str, Any] | None:
    """{"ok", "error", "stats"} of the last crawl this process ran (None: it recorded none)."""
    return _last_result


class CrawlJobExtension:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.reason: str | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        # engine_stopped comes after every spider_closed handler (the enqueue step among them)
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlJobExtension:
        return cls(crawler)

    def spider_opened(self, spider: Spider) -> None:
        state = state_of(spider)
        if state.runner is None:  # on its own: this process owns the job
            with connect(autocommit=True) as conn:
                if not state.job_id:
                    state.job_id = str(
                        jobs.create(
                            conn, state.domain_id, jobs.JobType.CRAWL, {"domain": state.domain}
                        )
                    )
                job = jobs.start(conn, state.job_id)
            state.runner = job["runner"] if job else None
            state.owns_job = True
        logger.info("crawl job %s for %s", state.job_id, state.domain)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        self.reason = reason

    def engine_stopped(self) -> None:
        spider = self.crawler.spider
        state = getattr(spider, "state", None)
        if state is None or not state.job_id:
            return
        finish(state, self.crawler.stats.get_stats(), self.reason or "unknown")


def outcome(errors: list[str], reason: str) -> str | None:
    """None if the crawl finished cleanly, else why not."""
    if errors:
        return "; ".join(errors)
    if reason != "finished":
        return f"crawl stopped early: {reason}"
    return None


def finish(state: CrawlState, collected: dict[str, Any], reason: str) -> dict[str, Any]:
    """Record the crawl's outcome; `collected` is the stats collector's dict."""
    global _last_result
    usage = resource.getrusage(resource.RUSAGE_SELF)
    stats = {
        **job_stats(collected, state.started),
        "finish_reason": reason,
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
    }
    error = outcome(state.errors, reason)
    job_id = state.job_id
    if job_id is None:
        raise ValueError("a crawl without a job has no outcome to record")
    with connect(autocommit=True) as conn:
        if state.runner:
            jobs.update_metadata(conn, job_id, {"stats": stats}, runner=state.runner)
        if error is None:
            conn.execute(
                "UPDATE domains SET last_scraped_at = NOW(), updated_at = NOW() WHERE id = %s",
                (state.domain_id,),
            )
        if state.owns_job and state.runner:
            if error is None:
                jobs.complete(conn, job_id, state.runner, {"stats": stats})
            else:
                jobs.fail(conn, job_id, error, {"stats": stats}, runner=state.runner)
    _last_result = {"ok": error is None, "error": error, "stats": stats}
    return stats

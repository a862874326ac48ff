"""The crawl's `content_refresh_jobs` row: created if the crawl was started without one
(`scrapy crawl site -a domain=...`), running while the spider runs, then completed with the
crawl's stats or failed with the reason; `domains.last_scraped_at` updated on success."""

from __future__ import annotations

import logging
import resource
from typing import Any

from scrapy import signals

from db import jobs
from db.connection import connect

logger = logging.getLogger(__name__)


class CrawlJobExtension:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.reason: str | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        # engine_stopped comes after every spider_closed handler (the enqueue step among them)
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Any) -> CrawlJobExtension:
        return cls(crawler)

    def spider_opened(self, spider: Any) -> None:
        state = spider.state
        with connect(autocommit=True) as conn:
            if not state.job_id:
                state.job_id = str(jobs.create(conn, state.domain_id, "crawl",
                                               {"domain": state.domain}))
            jobs.start(conn, state.job_id)
        logger.info("crawl job %s for %s", state.job_id, state.domain)

    def spider_closed(self, spider: Any, reason: str) -> None:
        self.reason = reason

    def engine_stopped(self) -> None:
        spider = self.crawler.spider
        state = getattr(spider, "state", None)
        if state is None or not state.job_id:
            return
        finish(state, self.reason or "unknown")


def finish(state: Any, reason: str) -> dict[str, Any]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    stats = {**state.stats(), "finish_reason": reason,
             "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
             "cpu_s": round(usage.ru_utime + usage.ru_stime, 2)}
    with connect(autocommit=True) as conn:
        if state.errors:
            jobs.fail(conn, state.job_id, "; ".join(state.errors), {"stats": stats})
        elif reason != "finished":
            jobs.fail(conn, state.job_id, f"crawl stopped early: {reason}", {"stats": stats})
        else:
            jobs.complete(conn, state.job_id, {"stats": stats})
            conn.execute("UPDATE domains SET last_scraped_at = NOW(), updated_at = NOW() "
                         "WHERE id = %s", (state.domain_id,))
    return stats

from __future__ import annotations

import uuid

import pytest
from scrapy.utils.misc import build_from_crawler

from crawlers.crawl_stats import job_stats
from pipelines.enqueue import PAGES_PER_JOB, EnqueuePipeline
from tests.support.crawler import site_crawler

SENT: list[tuple[str, str]] = []


def record_send(job_id: str, job_type: str) -> None:
    """The job sender for these tests (named by the OMNI_JOB_SENDER setting)."""
    SENT.append((job_id, job_type))


@pytest.fixture
def enqueue(db):
    SENT.clear()
    crawler = site_crawler("shop.example", OMNI_JOB_SENDER=f"{__name__}.record_send")
    return crawler, build_from_crawler(EnqueuePipeline, crawler)


@pytest.mark.parametrize(("pages", "jobs"), [(0, 0), (2, 3), (PAGES_PER_JOB + 1, 6)])
def test_enqueue_creates_a_job_per_step_and_batch_and_sends_it(enqueue, db, pages, jobs):
    crawler, pipeline = enqueue
    state = crawler.spider.state
    state.to_enqueue = [str(uuid.uuid4()) for _ in range(pages)]
    state.to_enqueue += state.to_enqueue[:1]  # a page stored twice is enqueued once
    pipeline.spider_closed(crawler.spider)
    rows = db.execute("SELECT id, job_type, metadata FROM content_refresh_jobs").fetchall()
    assert len(rows) == len(SENT) == jobs
    assert sorted((str(r["id"]), r["job_type"]) for r in rows) == sorted(SENT)
    assert sum(len(r["metadata"]["page_ids"]) for r in rows) == 3 * pages
    stats = job_stats(crawler.stats.get_stats(), 0.0, 0.0)
    assert (stats["jobs_enqueued"], stats["pages_enqueued"]) == (jobs, pages)


def test_nothing_is_enqueued_when_the_crawl_could_not_store_everything(enqueue, db):
    crawler, pipeline = enqueue
    state = crawler.spider.state
    state.to_enqueue, state.errors = [str(uuid.uuid4())], ["scraped_pages: boom"]
    pipeline.spider_closed(crawler.spider)
    assert (
        SENT == []
        and db.execute("SELECT count(*) AS n FROM content_refresh_jobs").fetchone()["n"] == 0
    )
    assert "jobs_enqueued" not in job_stats(crawler.stats.get_stats(), 0.0, 0.0)


def flaky_send(job_id: str, job_type: str) -> None:
    """Redis goes away after the first message."""
    if SENT:
        raise ConnectionError("Redis went away")
    SENT.append((job_id, job_type))


def test_a_send_that_fails_leaves_the_jobs_pending_for_the_sweeper(db):
    """Redis away as the crawl ends: the rows are committed, the crawl does not fail, and the
    jobs wait, pending, for the sweeper (tests/workers/test_sweeper.py) to send them."""
    SENT.clear()
    crawler = site_crawler("shop.example", OMNI_JOB_SENDER=f"{__name__}.flaky_send")
    pipeline = build_from_crawler(EnqueuePipeline, crawler)
    crawler.spider.state.to_enqueue = [str(uuid.uuid4()) for _ in range(2)]
    pipeline.spider_closed(crawler.spider)
    assert crawler.spider.state.errors == [] and len(SENT) == 1
    stats = crawler.stats.get_stats()
    assert job_stats(stats, 0.0, 0.0)["jobs_enqueued"] == 3
    rows = db.execute("SELECT status FROM content_refresh_jobs").fetchall()
    assert [r["status"] for r in rows] == ["pending"] * 3

from __future__ import annotations

import pytest
from scrapy.utils.misc import build_from_crawler

from crawlers.crawl_stats import job_stats
from pipelines.enqueue import PAGES_PER_JOB, EnqueuePipeline
from tests.support.crawler import site_crawler

SITE = "https://shop.example"

SENT: list[tuple[str, str]] = []


def record_send(job_id: str, job_type: str) -> None:
    """The job sender for these tests (named by the OMNI_JOB_SENDER setting)."""
    SENT.append((job_id, job_type))


def pass_stored_pages(db, crawler, pipeline, n: int) -> list[str]:
    """n page rows as the store step writes them, their items marked by it, through the
    pipeline (the last page twice, as a page stored twice): their ids."""
    domain_id = crawler.spider.state.domain_id
    ids = [
        str(
            db.execute(
                "INSERT INTO scraped_pages (domain_id, url) VALUES (%s, %s) RETURNING id",
                (domain_id, f"{SITE}/p{i}"),
            ).fetchone()["id"]
        )
        for i in range(n)
    ]
    urls = [f"{SITE}/p{i}" for i in range(n)]
    for url in [*urls, *urls[-1:]]:
        pipeline.process_item({"kind": "page", "url": url, "awaits_jobs": True})
    pipeline.process_item({"kind": "page", "url": f"{SITE}/same", "awaits_jobs": False})
    return ids


@pytest.fixture
def enqueue(db):
    SENT.clear()
    crawler = site_crawler("shop.example", OMNI_JOB_SENDER=f"{__name__}.record_send")
    return crawler, build_from_crawler(EnqueuePipeline, crawler)


@pytest.mark.parametrize(("pages", "jobs"), [(0, 0), (2, 3), (PAGES_PER_JOB + 1, 6)])
def test_enqueue_creates_a_job_per_step_and_batch_and_sends_it(enqueue, db, pages, jobs):
    crawler, pipeline = enqueue
    ids = pass_stored_pages(db, crawler, pipeline, pages)
    pipeline.spider_closed(crawler.spider)
    rows = db.execute("SELECT id, job_type, metadata FROM content_refresh_jobs").fetchall()
    assert len(rows) == len(SENT) == jobs
    assert sorted((str(r["id"]), r["job_type"]) for r in rows) == sorted(SENT)
    assert sum(len(r["metadata"]["page_ids"]) for r in rows) == 3 * pages
    assert {p for r in rows for p in r["metadata"]["page_ids"]} == set(ids)
    stats = job_stats(crawler.stats.get_stats(), 0.0, 0.0)
    assert (stats["jobs_enqueued"], stats["pages_enqueued"]) == (jobs, pages)


def test_pages_a_killed_attempt_of_the_job_stored_are_enqueued_by_the_retry(enqueue, db):
    crawler, pipeline = enqueue
    state = crawler.spider.state
    state.job_id = "7f1a0000-0000-4000-8000-000000000001"
    rows = [
        ("/killed-new", state.job_id, "scraped", "new"),
        ("/killed-unchanged", state.job_id, "scraped", "unchanged"),
        ("/killed-failed", state.job_id, "failed", "new"),
        ("/other-job", "7f1a0000-0000-4000-8000-000000000002", "scraped", "new"),
    ]
    for path, job, status, change in rows:
        db.execute(
            "INSERT INTO scraped_pages (domain_id, url, status, metadata) "
            "VALUES (%s, %s, %s, jsonb_build_object('crawl_job_id', %s::text, 'change', %s::text))",
            (state.domain_id, SITE + path, status, job, change),
        )
    pipeline.open_spider()
    pipeline.spider_closed(crawler.spider)
    queued = {
        r["url"]
        for r in db.execute(
            "SELECT p.url FROM content_refresh_jobs j, scraped_pages p "
            "WHERE p.id::text IN (SELECT jsonb_array_elements_text(j.metadata->'page_ids'))"
        )
    }
    assert queued == {SITE + "/killed-new"} and len(SENT) == 3


def test_nothing_is_enqueued_when_the_crawl_could_not_store_everything(enqueue, db):
    crawler, pipeline = enqueue
    pass_stored_pages(db, crawler, pipeline, 1)
    crawler.spider.state.errors = ["scraped_pages: boom"]
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
    pass_stored_pages(db, crawler, pipeline, 2)
    pipeline.spider_closed(crawler.spider)
    assert crawler.spider.state.errors == [] and len(SENT) == 1
    stats = crawler.stats.get_stats()
    assert job_stats(stats, 0.0, 0.0)["jobs_enqueued"] == 3
    rows = db.execute("SELECT status FROM content_refresh_jobs").fetchall()
    assert [r["status"] for r in rows] == ["pending"] * 3

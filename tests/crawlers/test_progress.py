"""A running crawl shows its progress where operators look: the dashboard's overview."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from starlette.testclient import TestClient

from crawlers.run import create_crawl_job, run_crawl_subprocess
from dashboard.app import create_app
from db import jobs
from tests.support.shop_site import shop
from tests.support.worker_fixtures import wait_until


@pytest.fixture
def slow_shop(db, serve_site, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OMNI_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("OMNI_CRAWL_CONCURRENCY", "2")
    site = serve_site(shop(60, sitemap=True))
    site.delay = 0.2
    return site


@contextmanager
def crawl_in_background(db, domain: str, pages_seen: int, what: str) -> Iterator[tuple[str, dict]]:
    """(job id, the crawl's outcome once it ends): a crawl subprocess run from a thread, entered
    once it has seen `pages_seen` pages; leaving waits for it to end."""

    _, job_id = create_crawl_job(domain)
    result: dict = {}
    crawl = threading.Thread(
        target=lambda: result.update(run_crawl_subprocess(job_id, timeout=240))
    )
    crawl.start()
    try:
        wait_until(
            lambda: (
                (jobs.get(db, job_id)["metadata"].get("progress") or {}).get("pages_seen", 0)
                >= pages_seen
            ),
            timeout=120,
            what=what,
        )
        yield job_id, result
    finally:
        crawl.join(timeout=240)


def test_the_dashboard_shows_a_running_crawl_and_its_progress(slow_shop, db, redis_client):

    with crawl_in_background(db, slow_shop.domain, 5, "progress in the job") as (job_id, result):
        with TestClient(create_app("127.0.0.1"), base_url="http://127.0.0.1") as client:
            page = client.get("/").text
        row = re.search(rf'<tr data-job="{job_id}">(.*?)</tr>', page, re.DOTALL)
        assert row, page[-2000:]
        cells = row.group(1)
        assert slow_shop.domain in cells
        fetched = int(re.search(r'class="fetched">(\d+)<', cells).group(1))
        queued = int(re.search(r'class="queued">(\d+)<', cells).group(1))
        rate = float(re.search(r'class="rate">([\d.]+)<', cells).group(1))
        assert fetched >= 5 and queued > 0 and rate > 0
        assert re.search(r'class="errors ?">0<', cells)
    assert result["status"] == "completed"
    with TestClient(create_app("127.0.0.1"), base_url="http://127.0.0.1") as client:
        assert "no crawl is running" in client.get("/").text


def test_a_crawl_whose_job_was_taken_over_stops_and_records_nothing(slow_shop, db):
    """Only the runner that started a job may complete it: a crawl whose job another runner
    took over (its lease had expired) stops at its next progress tick and writes no outcome."""

    with crawl_in_background(db, slow_shop.domain, 3, "the crawl to make progress") as (
        job_id,
        result,
    ):
        assert jobs.start(db, job_id) is None  # its lease is live: renewed at each tick
        taker = None
        while taker is None:  # as if its runner had stopped renewing it
            db.execute(
                "UPDATE content_refresh_jobs SET metadata = metadata || "
                '\'{"lease_expires_at": "2000-01-01T00:00:00+00:00"}\' WHERE id = %s',
                (job_id,),
            )
            taker = jobs.start(db, job_id)
        taken_at = time.monotonic()
    # it stopped: the whole shop is ~100 pages, 10 s at this site's pace
    assert len(slow_shop.page_requests()) < 70, (
        len(slow_shop.page_requests()),
        time.monotonic() - taken_at,
    )
    job = jobs.get(db, job_id)
    assert job["status"] == "running" and jobs.runner_of(job) == taker["runner"]
    assert job["metadata"]["attempts"] == 2 and "stats" not in job["metadata"]
    assert result["status"] == "running"

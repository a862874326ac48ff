"""The `crawl_domain` actor end to end: a real `dramatiq workers.actors:setup_worker` process on the
test
Redis runs crawl jobs queued the way `omni refresh` queues them, against a real local site.
The crawl child is SIGKILLed, overruns the time limit, is forced; its job never lies."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from db import jobs, tenants
from tests.support.crawl_fixtures import crawl_ok
from tests.support.shop_site import shop
from tests.support.worker_fixtures import wait_until, worker_process
from workers.broker import setup_broker
from workers.refresh import queue_refresh


@pytest.fixture
def crawl_env(db, redis_client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNI_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("OMNI_CRAWL_MAX_DEPTH", "100")

    setup_broker(os.environ["REDIS_URL"])


def crawl_children(job_id: str) -> list[int]:
    """Pids of live `crawlers.run` processes for the job."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"crawlers.run" in cmdline and job_id.encode() in cmdline and state != "Z":
            pids.append(int(entry.name))
    return pids


def queue_crawl(db, domain: str, force: bool = False) -> str:

    tenants.add_domain(db, domain)
    (job_id,) = queue_refresh(db, domain, "crawl", force=force)
    return str(job_id)


def stored_by(db, job_id: str) -> set[str]:
    return {
        r["url"]
        for r in db.execute(
            "SELECT url FROM scraped_pages WHERE status = 'scraped' AND metadata->>'crawl_job_id' "
            "= %s",
            (job_id,),
        )
    }


def test_a_sigkilled_crawl_is_retried_resumes_and_counts_two_attempts(
    crawl_env, serve_site, db, tmp_path
):
    site = serve_site(shop(120, sitemap=True))
    site.delay = 0.15
    job_id = queue_crawl(db, site.domain)
    with worker_process(tmp_path / "worker.log", queues=("crawl",)):
        (child,) = wait_until(lambda: crawl_children(job_id), timeout=120, what="the crawl child")
        before_kill = wait_until(
            lambda: stored_by(db, job_id) if len(stored_by(db, job_id)) >= 10 else None,
            timeout=120,
            what="pages stored by the first attempt",
        )
        os.kill(child, signal.SIGKILL)
        killed_at = len(site.requests)
        job = wait_until(
            lambda: (j := jobs.get(db, job_id))["status"] in ("completed", "failed") and j,
            timeout=240,
            what="the job to finish",
        )
    log = (tmp_path / "worker.log").read_text()
    assert job["status"] == "completed", (job["error_message"], log[-3000:])
    assert job["metadata"]["attempts"] == 2
    assert "killed by SIGKILL" in job["metadata"]["last_error"]
    assert job["error_message"] is None and crawl_children(job_id) == []
    products = {u for u in stored_by(db, job_id) if u.count("/") == 4 and "/p/" in u}
    assert len(products) == 120
    # the retry resumed: what the killed attempt stored was not downloaded again in full
    prefix = f"http://{site.domain}"
    again = {}
    for r in site.requests[killed_at:]:
        again.setdefault(r.path, []).append(r)
    refetched = [
        u
        for u in before_kill
        if any(not r.conditional and r.status == 200 for r in again.get(u.removeprefix(prefix), []))
    ]
    assert refetched == []
    assert (
        job["metadata"]["stats"]["resumed"] + job["metadata"]["stats"]["not_modified"]
        >= len(before_kill) - 5
    )


def test_a_crawl_over_its_time_limit_is_killed_retried_then_failed(
    crawl_env, serve_site, db, tmp_path
):
    site = serve_site(shop(200, sitemap=True))
    site.delay = 0.5
    job_id = queue_crawl(db, site.domain)
    most_at_once = 0
    with worker_process(
        tmp_path / "worker.log",
        queues=("crawl",),
        OMNI_CRAWL_TIME_LIMIT_S="4",
        OMNI_WORKER_MAX_RETRIES="1",
    ):
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            most_at_once = max(most_at_once, len(crawl_children(job_id)))
            if jobs.get(db, job_id)["status"] == "failed":
                break
            time.sleep(0.1)
        job = jobs.get(db, job_id)
        # the child is gone as soon as the actor gives up, not when the worker stops
        wait_until(lambda: crawl_children(job_id) == [], timeout=20, what="no crawl child left")
    assert job["status"] == "failed", (job, (tmp_path / "worker.log").read_text()[-3000:])
    assert "TimeLimitExceeded" in job["error_message"] and "gave up" in job["error_message"]
    assert job["metadata"]["attempts"] == 2
    assert most_at_once == 1  # never a retry beside a crawl that is still going


def test_a_crawl_longer_than_the_time_limit_is_continued_by_the_next_attempts(
    crawl_env, serve_site, db, tmp_path
):
    """Each attempt is killed at the limit; the next one resumes from what the earlier ones
    stored, so the crawl finishes, and no page is downloaded whole twice."""
    site = serve_site(shop(150, sitemap=True, print_views=0, dead_every=0))
    site.delay = 0.25
    job_id = queue_crawl(db, site.domain)
    with worker_process(
        tmp_path / "worker.log",
        queues=("crawl",),
        OMNI_CRAWL_TIME_LIMIT_S="9",
        OMNI_WORKER_MAX_RETRIES="8",
        OMNI_WORKER_MIN_BACKOFF_MS="100",
        OMNI_WORKER_MAX_BACKOFF_MS="500",
    ):
        job = wait_until(
            lambda: (j := jobs.get(db, job_id))["status"] in ("completed", "failed") and j,
            timeout=300,
            what="the job to finish",
        )
    log = (tmp_path / "worker.log").read_text()
    assert job["status"] == "completed", (job["error_message"], log[-3000:])
    assert job["metadata"]["attempts"] >= 2 and "TimeLimitExceeded" in job["metadata"]["last_error"]
    products = {u for u in stored_by(db, job_id) if u.count("/") == 4 and "/p/" in u}
    assert len(products) == 150
    full = Counter(
        r.path
        for r in site.requests
        if r.status == 200 and not r.conditional and r.path.startswith("/p/")
    )
    assert [p for p, n in full.items() if n > 1] == []
    assert job["metadata"]["stats"]["resumed"] > 0


def test_a_crawl_child_dies_with_its_worker(crawl_env, serve_site, db, tmp_path):
    """Its own process group keeps the child out of a signal to the worker's group; if the
    worker is SIGKILLed (no chance to kill the child), Linux kills the child with it."""
    site = serve_site(shop(100, sitemap=True))
    site.delay = 0.5
    job_id = queue_crawl(db, site.domain)
    with worker_process(tmp_path / "worker.log", queues=("crawl",)) as worker:
        wait_until(lambda: crawl_children(job_id), timeout=120, what="the crawl child")
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        wait_until(lambda: crawl_children(job_id) == [], timeout=20, what="the orphan to die")


def test_a_forced_crawl_ignores_validators_and_re_extracts_every_page(
    crawl_env, serve_site, db, tmp_path
):

    site = serve_site(shop(20, sitemap=True))
    first = crawl_ok(site.domain)
    site.requests.clear()
    job_id = queue_crawl(db, site.domain, force=True)
    with worker_process(tmp_path / "worker.log", queues=("crawl",)):
        job = wait_until(
            lambda: (j := jobs.get(db, job_id))["status"] in ("completed", "failed") and j,
            timeout=180,
            what="the forced crawl",
        )
    assert job["status"] == "completed", job["error_message"]
    assert job["metadata"]["attempts"] == 1
    assert [r.path for r in site.page_requests() if r.conditional] == []
    stats = job["metadata"]["stats"]
    assert stats["changed"] == first["new"] and stats["unchanged"] == 0
    work = db.execute(
        "SELECT job_type, metadata FROM content_refresh_jobs WHERE metadata->>'crawl_job_id' = %s",
        (job_id,),
    ).fetchall()
    assert sorted(w["job_type"] for w in work) == ["embed", "extract", "optimize"]
    assert all(w["metadata"]["force"] is True for w in work)
    assert (
        sum(len(w["metadata"]["page_ids"]) for w in work if w["job_type"] == "extract")
        == first["new"]
    )

"""Real worker processes: SIGKILL mid-batch, and Postgres restarted under a running worker."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest

from db import jobs
from db.connection import connect
from db.migrate import migrate
from interfaces.services import EmbeddedPostgres
from tests.support.openai_server import Reply
from tests.support.paths import TEST_DATA_DIR
from tests.support.servers import start_on_same_port
from tests.support.watchdog import stop_on_exit
from tests.support.worker_fixtures import add_page, make_domain, wait_until, worker_process
from workers.dispatch import send_job
from workers.embed_job import PAGE_GROUP

pytestmark = pytest.mark.slow


def _page_text(i: int) -> str:
    return (
        f"## Item {i}\n\nProduct number {i} is a sturdy widget in colour {i % 7} for "
        f"customers who need {i} parts.\n\nIt ships within {i % 5 + 1} days."
    )


def _status(conn, job_id):
    return jobs.get(conn, job_id)["status"]


def _assert_complete_set(conn, page_ids):
    rows = conn.execute(
        "SELECT page_id, (metadata->>'chunk_index')::int AS idx, metadata->>'chunk_hash' AS h "
        "FROM page_embeddings"
    ).fetchall()
    by_page: dict = {}
    for r in rows:
        by_page.setdefault(r["page_id"], []).append(r["idx"])
    assert set(by_page) == set(page_ids)
    for indexes in by_page.values():  # every chunk once: 0..n-1, no duplicates
        assert sorted(indexes) == list(range(len(indexes)))
    assert len({(r["page_id"], r["h"], r["idx"]) for r in rows}) == len(rows)


def test_worker_killed_mid_batch_leaves_no_duplicates_and_the_job_completes(
    db, broker, openai_env, tmp_path
):
    domain = make_domain(db)
    pages = [
        add_page(db, domain["id"], f"https://shop.example/item/{i}", f"Item {i}", _page_text(i))
        for i in range(PAGE_GROUP + 6)
    ]  # two write groups
    job_id = jobs.create(db, domain["id"], "embed", {"page_ids": [str(p) for p in pages]})
    # 16 inputs per request, one in flight: the first group (64 one-chunk pages) is a wave of
    # 4 requests and is committed; the second group's request hangs until the worker is killed.
    limits = {"OMNI_EMBEDDING_MAX_INPUTS": "16", "OMNI_OPENAI_MAX_CONCURRENCY": "1"}
    openai_env.script(Reply(), Reply(), Reply(), Reply(), Reply.slow(60), path="/v1/embeddings")
    send_job(job_id, "embed")

    with worker_process(tmp_path / "worker1.log", **limits) as first:
        wait_until(lambda: len(openai_env.embedding_requests()) >= 5, 90, what="the fifth batch")
        committed = db.execute(
            "SELECT count(DISTINCT page_id) AS n FROM page_embeddings"
        ).fetchone()
        assert committed["n"] == PAGE_GROUP and _status(db, job_id) == "running"
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()

    with worker_process(tmp_path / "worker2.log", **limits):
        wait_until(lambda: _status(db, job_id) in ("completed", "failed"), 90, what="the job")
    job = jobs.get(db, job_id)
    assert job["status"] == "completed", job["error_message"]
    assert job["metadata"]["attempts"] == 2
    # the redelivered run re-embedded only the group the killed worker had not written
    requests = openai_env.embedding_requests()
    assert len(requests) == 6 and len(requests[-1].body["input"]) == 6
    assert all(len(r.body["input"]) <= 16 for r in requests)
    assert job["metadata"]["chunks_unchanged"] == PAGE_GROUP
    assert job["metadata"]["pages"] == len(pages)
    _assert_complete_set(db, pages)


@pytest.fixture
def private_postgres(services_env):
    """A Postgres of this test's own (the shared test server must never be restarted).

    Under .omni-test rather than /tmp/pytest-of-root: Postgres runs as an unprivileged user
    that must be able to reach its data directory."""

    TEST_DATA_DIR.mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="pg-restart-", dir=TEST_DATA_DIR))
    pg = EmbeddedPostgres(root)
    stop_on_exit(pg)
    try:
        url = pg.start()
        with connect(autocommit=True, dsn=url) as conn:
            migrate(conn)
        yield pg, url
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_postgres_restarted_under_a_running_worker_does_not_lose_the_job(
    private_postgres, broker, openai_env, tmp_path
):

    pg, url = private_postgres
    with connect(autocommit=True, dsn=url) as conn:
        domain = make_domain(conn)
        pages = [
            add_page(
                conn, domain["id"], f"https://shop.example/item/{i}", f"Item {i}", _page_text(i)
            )
            for i in range(5)
        ]
        job_id = jobs.create(conn, domain["id"], "embed", {"page_ids": [str(p) for p in pages]})
    openai_env.script(Reply.slow(4), path="/v1/embeddings")  # the worker is mid-job ...
    send_job(job_id, "embed")

    with worker_process(tmp_path / "worker.log", DATABASE_URL=url):
        wait_until(lambda: openai_env.embedding_requests(), 90, what="the embedding request")
        pg.stop()  # ... when Postgres goes away
        wait_until(lambda: len(openai_env.embedding_requests()) == 1 and not pg.running(), 10)
        time.sleep(4)
        start_on_same_port(pg, url)

        def finished():
            try:
                with connect(autocommit=True, dsn=url) as conn:
                    return _status(conn, job_id) in ("completed", "failed")
            except Exception:  # noqa: BLE001 - still starting
                return False

        wait_until(finished, 120, interval=0.5, what="the job after the restart")

    with connect(autocommit=True, dsn=url) as conn:
        job = jobs.get(conn, job_id)
        assert job["status"] == "completed", job["error_message"]
        assert job["metadata"]["attempts"] >= 2
        # why it ran again is on the row: the worker wrote the connection error once Postgres
        # was back, or (a slow machine, Postgres away longer than the worker's lease) its lease
        # expired while it could not renew it, and the sweeper or a takeover said so
        last_error = job["metadata"].get("last_error", "")
        assert (
            "OperationalError" in last_error
            or "connection" in last_error.lower()
            or last_error == jobs.TAKEN_OVER
            or "lease_expired_at" in job["metadata"]
        ), job["metadata"]
        _assert_complete_set(conn, pages)

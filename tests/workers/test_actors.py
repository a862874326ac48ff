"""Actors through a real Dramatiq worker on the test Redis: outcomes, retries, dead letters."""

from __future__ import annotations

import time

import dramatiq
import pytest

from db import jobs
from tests.support.openai_server import Reply
from tests.support.worker_fixtures import (
    add_page,
    embedding_rows,
    long_page,
    make_domain,
    running_worker,
)
from workers.dispatch import send_job
from workers.refresh import retry_job


def wait_for_job(conn, job_id, statuses=("completed", "failed"), timeout=60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = jobs.get(conn, job_id)
        if job["status"] in statuses:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} is still {jobs.get(conn, job_id)['status']}")


def _embed_job(conn, pages=2, **meta):
    domain = make_domain(conn)
    ids = [
        add_page(conn, domain["id"], f"https://shop.example/{i}", f"P{i}", long_page(f"topic{i}"))
        for i in range(pages)
    ]
    return jobs.create(conn, domain["id"], "embed", {"page_ids": [str(i) for i in ids], **meta})


def _send(broker, job_id, **options):
    message = dramatiq.Message(
        queue_name="embed",
        actor_name="embed_pages",
        args=(str(job_id),),
        kwargs={},
        options=options,
    )
    return broker.enqueue(message)


def _dead_letters(redis_client, queue="embed") -> int:
    return redis_client.zcard(f"dramatiq:{queue}.XQ")


def test_job_completes_and_a_second_delivery_duplicates_nothing(db, broker, openai_env):
    job_id = _embed_job(db)
    send_job(job_id, "embed")
    with running_worker(broker):
        job = wait_for_job(db, job_id)
        assert job["status"] == "completed", job["error_message"]
        rows = len(embedding_rows(db))
        # the same message again (at-least-once delivery): a no-op
        send_job(job_id, "embed")
        broker.join("embed", timeout=20_000)
    assert len(embedding_rows(db)) == rows > 0
    meta = jobs.get(db, job_id)["metadata"]
    assert meta["chunks_embedded"] == rows and meta["tokens"] > 0 and meta["attempts"] == 1
    assert job["started_at"] <= job["completed_at"] and job["error_message"] is None
    dupes = db.execute(
        "SELECT page_id, metadata->>'chunk_hash', count(*) FROM page_embeddings "
        "GROUP BY 1, 2 HAVING count(*) > 1"
    ).fetchall()
    assert dupes == []


def test_an_embed_job_recounts_its_domains_stop_words(db, broker, openai_env):
    """After its chunks, the job recounts the domain's own stop words for hybrid search
    (db/keyword_stats.py), over every chunk the domain has then."""
    job_id = _embed_job(db, pages=3)
    domain_id = jobs.get(db, job_id)["domain_id"]
    send_job(job_id, "embed")
    with running_worker(broker):
        assert wait_for_job(db, job_id)["status"] == "completed"
    row = db.execute(
        "SELECT chunks, common_words FROM domain_keyword_stats WHERE domain_id = %s",
        (domain_id,),
    ).fetchone()
    assert row is not None and row["chunks"] == len(embedding_rows(db)) > 0
    # every chunk of long_page says its topic: "topic0" is in a third of them
    assert "topic0" in row["common_words"]
    assert "keyword_stats_error" not in jobs.get(db, job_id)["metadata"]


def test_rate_limit_storm_through_the_worker_ends_in_success(db, broker, openai_env):
    job_id = _embed_job(db, pages=1)
    # more 429s than one run's own retries: the job itself is retried (after Retry-After)
    openai_env.script(*[Reply.rate_limited(retry_after=0.05)] * 8, path="/v1/embeddings")
    send_job(job_id, "embed")
    with running_worker(broker):
        job = wait_for_job(db, job_id)
    assert job["status"] == "completed", job["error_message"]
    assert job["metadata"]["attempts"] == 2
    assert "Rate limit" in job["metadata"]["last_error"]
    assert len(openai_env.embedding_requests()) == 9
    assert embedding_rows(db)


def test_permanent_error_fails_the_job_once_with_its_message(db, broker, openai_env, redis_client):
    job_id = _embed_job(db, pages=1)
    openai_env.script(
        Reply.bad_request("Invalid 'model': no such embedding model"), path="/v1/embeddings"
    )
    send_job(job_id, "embed")
    with running_worker(broker):
        job = wait_for_job(db, job_id)
        broker.join("embed", timeout=10_000)
    assert job["status"] == "failed"
    assert "no such embedding model" in job["error_message"]
    assert job["completed_at"] is not None and job["metadata"]["attempts"] == 1
    assert len(openai_env.embedding_requests()) == 1  # not retried
    assert _dead_letters(redis_client) == 1
    assert embedding_rows(db) == []


def test_transient_errors_out_of_retries_dead_letter_and_fail_the_job(
    db, broker, openai_env, redis_client
):
    job_id = _embed_job(db, pages=1)
    openai_env.script(lambda request: Reply.server_error(502))  # one 502 ...
    openai_env.handler = lambda request: Reply.server_error(502)  # ... and every answer after
    _send(broker, job_id, max_retries=1, min_backoff=50, max_backoff=100)
    with running_worker(broker):
        job = wait_for_job(db, job_id, statuses=("failed",))
        broker.join("embed", timeout=10_000)
    assert "502" in job["error_message"] or "server had an error" in job["error_message"]
    assert "gave up after" in job["error_message"]
    assert job["metadata"]["attempts"] == 2 and job["metadata"]["dead_lettered"] is True
    assert _dead_letters(redis_client) == 1


def test_unknown_or_mistyped_job_is_permanent(db, broker, redis_client):
    domain = make_domain(db)
    wrong = jobs.create(db, domain["id"], "crawl", {})
    _send(broker, wrong)
    _send(broker, "00000000-0000-0000-0000-00000000abcd")
    with running_worker(broker):
        job = wait_for_job(db, wrong)
        broker.join("embed", timeout=10_000)
    assert job["status"] == "failed"
    assert "is a 'crawl' job" in job["error_message"]
    assert _dead_letters(redis_client) == 2


def test_retry_command_requeues_a_failed_job(db, broker, openai_env):

    job_id = _embed_job(db, pages=1)
    openai_env.script(Reply.bad_request("temporary misconfiguration"), path="/v1/embeddings")
    send_job(job_id, "embed")
    with running_worker(broker):
        assert wait_for_job(db, job_id)["status"] == "failed"
        with pytest.raises(Exception, match="not failed"):
            retry_job(db, str(jobs.create(db, jobs.get(db, job_id)["domain_id"], "embed", {})))
        retry_job(db, str(job_id))
        job = wait_for_job(db, job_id)
    assert job["status"] == "completed" and job["error_message"] is None
    assert job["metadata"]["attempts"] == 2


def test_pending_embed_jobs_of_a_domain_share_requests(db, broker, openai_env):
    domain = make_domain(db)
    ids = []
    for j in range(3):
        pages = [
            add_page(
                db,
                domain["id"],
                f"https://shop.example/{j}/{i}",
                f"P{j}{i}",
                long_page(f"topic{j}x{i}", paragraphs=2),
            )
            for i in range(3)
        ]
        ids.append(jobs.create(db, domain["id"], "embed", {"page_ids": [str(p) for p in pages]}))
    for job_id in ids:
        send_job(job_id, "embed")
    with running_worker(broker):
        done = [wait_for_job(db, job_id) for job_id in ids]
        broker.join("embed", timeout=20_000)
    assert [j["status"] for j in done] == ["completed"] * 3
    assert len(openai_env.embedding_requests()) == 1  # one full request, not three
    merged = [j for j in done if "merged_jobs" in jobs.get(db, j["id"])["metadata"]]
    assert len(merged) == 1 and sorted(
        jobs.get(db, merged[0]["id"])["metadata"]["merged_jobs"]
    ) == sorted(str(i) for i in ids if i != merged[0]["id"])
    rows = embedding_rows(db)
    assert len({(r["page_id"], r["metadata"]["chunk_hash"]) for r in rows}) == len(rows)
    assert len({r["page_id"] for r in rows}) == 9


def test_jobs_taken_along_by_a_failing_job_are_requeued_and_complete(db, broker, openai_env):
    domain = make_domain(db)
    ids = []
    for j in range(3):
        page = add_page(
            db, domain["id"], f"https://shop.example/{j}", f"P{j}", long_page(f"t{j}", 2)
        )
        ids.append(jobs.create(db, domain["id"], "embed", {"page_ids": [str(page)]}))
    openai_env.script(Reply.bad_request("quota exceeded for this key"), path="/v1/embeddings")
    send_job(ids[0], "embed")  # only the first is sent: it takes the other two along
    with running_worker(broker):
        done = [wait_for_job(db, job_id) for job_id in ids]
        broker.join("embed", timeout=20_000)
    assert done[0]["status"] == "failed" and "quota exceeded" in done[0]["error_message"]
    assert [j["status"] for j in done[1:]] == ["completed", "completed"]
    assert all(
        "merged_into" not in jobs.get(db, j)["metadata"]
        or jobs.get(db, j)["metadata"]["merged_into"] != str(ids[0])
        for j in ids[1:]
    )
    assert len({r["page_id"] for r in embedding_rows(db)}) == 2

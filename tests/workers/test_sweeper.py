"""The sweeper (workers/sweeper.py) on the real Postgres and Redis: a committed job whose
message is gone is sent again, once; a running job whose lease expired is released (and sent
unless a worker holds its message); a job a queue carries, a live lease, and a tenant's job are
left alone; one sweeper at a time."""

from __future__ import annotations

import pytest

from core.config import Settings
from db import jobs
from db.connection import connect
from tests.support.worker_fixtures import make_domain, queued_job_ids
from workers.dispatch import send_job
from workers.queues import LiveMessages, live_messages
from workers.sweeper import SWEEP_LOCK, orphan_reason, sweep

NOW = Settings(OMNI_JOB_RESEND_AFTER_S=0)


def _sweep(redis_client, settings: Settings = NOW):
    with connect() as conn:
        return sweep(conn, redis_client, send_job, settings)


def _expire(db, job_id) -> None:
    db.execute(
        "UPDATE content_refresh_jobs SET metadata = metadata || "
        '\'{"lease_expires_at": "2000-01-01T00:00:00+00:00"}\' WHERE id = %s',
        (job_id,),
    )


def test_a_pending_job_without_a_message_is_sent_again_once(db, broker, redis_client) -> None:
    job_id = jobs.create(db, make_domain(db)["id"], "embed", {"page_ids": []})
    carried = jobs.create(db, make_domain(db)["id"], "extract", {"page_ids": []})
    send_job(carried, "extract")
    assert str(carried) in live_messages(redis_client, ["extract"]).queued

    result = _sweep(redis_client)
    assert result.resent == [str(job_id)] and result.released == []
    assert queued_job_ids(redis_client, "embed") == [str(job_id)]
    assert queued_job_ids(redis_client, "extract") == [str(carried)]  # not sent twice
    assert jobs.get(db, job_id)["metadata"]["resent"] == 1
    # now its message waits in the queue: the next sweep leaves it
    assert _sweep(redis_client).resent == []
    # and a broker restarted with an empty queue: sent again once it has waited long enough
    redis_client.flushdb()
    assert _sweep(redis_client, Settings(OMNI_JOB_RESEND_AFTER_S=3600)).resent == []
    assert sorted(_sweep(redis_client).resent) == sorted([str(job_id), str(carried)])


def test_an_expired_lease_is_released_and_retried(db, broker, redis_client) -> None:
    job_id = jobs.create(db, make_domain(db)["id"], "embed", {"page_ids": []})
    runner = jobs.start(db, job_id, lease_s=30)["runner"]
    assert _sweep(redis_client).released == []  # live lease: left to its runner
    _expire(db, job_id)
    result = _sweep(redis_client)
    assert result.released == [str(job_id)] and result.resent == [str(job_id)]
    job = jobs.get(db, job_id)
    assert job["status"] == "pending" and "lease" in job["error_message"]
    assert jobs.complete(db, job_id, runner) is False  # the old runner can write nothing


def test_a_released_job_whose_message_a_worker_holds_is_not_sent_twice(
    db, broker, redis_client
) -> None:
    job_id = jobs.create(db, make_domain(db)["id"], "embed", {"page_ids": []})
    message_id = send_job(job_id, "embed").options["redis_message_id"]
    # a worker fetched it (Dramatiq moves its id into the worker's ack set) and then died
    assert redis_client.lrem("dramatiq:embed", 0, message_id) == 1
    redis_client.sadd("dramatiq:__acks__.dead-worker.embed", message_id)
    jobs.start(db, job_id)
    _expire(db, job_id)
    result = _sweep(redis_client)
    assert result.released == [str(job_id)] and result.resent == []  # maintenance returns it
    assert str(job_id) in live_messages(redis_client, ["embed"]).held
    # held far longer than any retry back-off: the worker dropped it; it is sent again
    assert _sweep(
        redis_client,
        Settings(
            OMNI_JOB_RESEND_AFTER_S=0,
            OMNI_WORKER_MAX_BACKOFF_MS=0,
            OMNI_BROKER_HEARTBEAT_TIMEOUT_MS=0,
        ),
    ).resent == [str(job_id)]


def test_a_tenants_job_is_never_sent(db, broker, redis_client) -> None:
    job_id = jobs.create(db, make_domain(db)["id"], "embed", {"page_ids": []})
    db.execute("UPDATE content_refresh_jobs SET origin = 'tenant' WHERE id = %s", (job_id,))
    assert _sweep(redis_client).resent == [] and queued_job_ids(redis_client, "embed") == []


def test_one_sweeper_at_a_time(db, broker, redis_client) -> None:
    jobs.create(db, make_domain(db)["id"], "embed", {"page_ids": []})
    with connect() as other:
        other.execute("SELECT pg_advisory_xact_lock(%s)", (SWEEP_LOCK,))
        result = _sweep(redis_client)
        other.rollback()
    assert result.skipped and not result
    assert len(_sweep(redis_client).resent) == 1


@pytest.mark.parametrize("state", ["completed", "failed"])
def test_finished_jobs_are_left_alone(db, broker, redis_client, state) -> None:
    job_id = jobs.create(db, make_domain(db)["id"], "embed", {"page_ids": []})
    db.execute("UPDATE content_refresh_jobs SET status = %s WHERE id = %s", (state, job_id))
    assert not _sweep(redis_client)


LIVE = LiveMessages(queued=frozenset({"q"}), held=frozenset({"h"}))


@pytest.mark.parametrize(
    "job, status, lease_live, idle_s, live, reason",
    [
        ("x", "running", True, 999, LIVE, None),
        ("x", "running", False, 0, LIVE, "lease expired"),
        ("x", "pending", False, 5, LIVE, None),  # just created: its sender may send
        ("x", "pending", False, 60, LIVE, "no message"),
        (None, None, False, 60, LIVE, "no message"),  # NULL status is pending
        ("q", "pending", False, 60, LIVE, None),  # waiting in a queue
        ("h", "pending", False, 60, LIVE, None),  # held by a worker...
        ("h", "pending", False, 10_000, LIVE, "no message"),  # ...for longer than any back-off
        ("x", "pending", False, 60, None, "message unknown (Redis unreachable)"),
        ("x", "completed", False, 60, LIVE, None),
        ("x", "failed", False, 60, LIVE, None),
    ],
)
def test_orphan_reason(job, status, lease_live, idle_s, live, reason) -> None:
    assert orphan_reason(job, status, lease_live, idle_s, live, Settings()) == reason

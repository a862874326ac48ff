"""The scheduler: due-time arithmetic (pure) and exactly-once queueing (real Postgres/Redis)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from core.config import Settings
from core.frequency import is_due, next_crawl_at
from db import jobs, tenants
from db.connection import connect
from interfaces.scheduler import LOCK_NAMESPACE, PassResult, Scheduler
from tests.support.paths import OMNI
from tests.support.tenants import build_world
from tests.support.worker_fixtures import queued_job_ids
from workers.sweeper import sweep

T = datetime(2024, 1, 31, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "frequency, last, expected",
    [
        ("hourly", T, T + timedelta(hours=1)),
        ("daily", T, T + timedelta(days=1)),
        ("weekly", T, T + timedelta(days=7)),
        (None, T, T + timedelta(days=7)),  # column default
        ("monthly", T, datetime(2024, 2, 29, 10, 30, tzinfo=UTC)),  # clamped to month end
        ("monthly", datetime(2024, 12, 15, tzinfo=UTC), datetime(2025, 1, 15, tzinfo=UTC)),
        ("0 3 * * *", T, datetime(2024, 2, 1, 3, 0, tzinfo=UTC)),  # cron: next 03:00
        ("*/15 * * * *", T, datetime(2024, 1, 31, 10, 45, tzinfo=UTC)),
        ("0 0 * * 1", T, datetime(2024, 2, 5, 0, 0, tzinfo=UTC)),  # next Monday
        ("daily", datetime(2024, 1, 31, 10, 30), T + timedelta(days=1)),  # naive = UTC
        ("hourly", None, None),  # never crawled: now
        ("0 3 * * *", None, None),
    ],
)
def test_next_crawl_at(frequency, last, expected) -> None:
    assert next_crawl_at(frequency, last) == expected


@pytest.mark.parametrize(
    "frequency, last, now, due",
    [
        ("hourly", T, T + timedelta(minutes=59), False),
        ("hourly", T, T + timedelta(hours=1), True),
        ("daily", T, T + timedelta(hours=23), False),
        ("weekly", T, T + timedelta(days=8), True),
        ("monthly", T, datetime(2024, 2, 28, tzinfo=UTC), False),
        ("0 3 * * *", T, datetime(2024, 2, 1, 2, 59, tzinfo=UTC), False),
        ("0 3 * * *", T, datetime(2024, 2, 1, 3, 0, tzinfo=UTC), True),
        ("weekly", None, T, True),
    ],
)
def test_is_due(frequency, last, now, due) -> None:
    assert is_due(frequency, last, now) is due


@pytest.mark.parametrize("bad", ["fortnightly", "0 3 * *", "99 * * * *", ""])
def test_bad_frequency_is_a_clear_error(bad) -> None:
    with pytest.raises(ValueError, match="scrape_frequency"):
        next_crawl_at(bad, T)


# ---------------------------------------------------------------- against Postgres and Redis


def _domain(db, name, frequency="daily", scraped_ago=None):
    row = tenants.add_domain(db, name, frequency=frequency)
    if scraped_ago is not None:
        db.execute(
            "UPDATE domains SET last_scraped_at = now() - %s WHERE id = %s",
            (scraped_ago, row["id"]),
        )
    return row


def _crawl_jobs(db, domain_id):
    return db.execute(
        "SELECT * FROM content_refresh_jobs WHERE domain_id = %s "
        "AND job_type IN ('crawl', 'full') ORDER BY created_at",
        (domain_id,),
    ).fetchall()


def test_a_pass_queues_due_domains_only_once(db, broker, redis_client) -> None:

    due = _domain(db, "due.example", "daily", timedelta(days=2))
    never = _domain(db, "never.example", "weekly")
    fresh = _domain(db, "fresh.example", "daily", timedelta(hours=1))
    inactive = _domain(db, "off.example", "hourly", timedelta(days=9))
    db.execute("UPDATE domains SET active = false WHERE id = %s", (inactive["id"],))

    with connect() as conn:
        first = Scheduler(conn).run_once()
        second = Scheduler(conn).run_once()  # the crawls are pending: nothing more to do

    assert sorted(first.crawls) == ["due.example", "never.example"]
    assert second.crawls == [] and second.errors == []
    for row in (due, never):
        [job] = _crawl_jobs(db, row["id"])
        assert job["status"] == "pending" and job["job_type"] == "crawl"
        assert job["metadata"]["trigger"] == "scheduler"
    assert _crawl_jobs(db, fresh["id"]) == [] and _crawl_jobs(db, inactive["id"]) == []
    queued = queued_job_ids(redis_client, "crawl")
    assert sorted(queued) == sorted(str(_crawl_jobs(db, r["id"])[0]["id"]) for r in (due, never))


def test_a_failed_crawl_is_retried_next_period_not_next_pass(db, broker, redis_client) -> None:

    row = _domain(db, "flaky.example", "hourly", timedelta(days=1))
    job_id = jobs.create(db, row["id"], "crawl")
    jobs.fail(db, job_id, "connection refused")
    with connect() as conn:
        assert Scheduler(conn).run_once().crawls == []  # failed a moment ago
        db.execute("UPDATE content_refresh_jobs SET created_at = now() - interval '61 minutes'")
        assert Scheduler(conn).run_once().crawls == ["flaky.example"]


def test_a_job_nobody_will_run_does_not_block_its_domain(db, broker, redis_client) -> None:
    """The send failed (Redis away): the row is pending with no message. The next pass's
    sweep sends it, whoever created it, instead of skipping the busy domain forever."""

    row = _domain(db, "lost.example", "daily", timedelta(days=3))

    def broken_sender(job_id, job_type):
        raise ConnectionError("redis went away")

    def sweeper(conn, send):
        return sweep(conn, redis_client, send, Settings(OMNI_JOB_RESEND_AFTER_S=0))

    with connect() as conn:
        first = Scheduler(conn, sender=broken_sender, sweeper=sweeper).run_once()
        [job] = _crawl_jobs(db, row["id"])
        assert first.crawls == [] and len(first.errors) == 1 and job["status"] == "pending"
        assert queued_job_ids(redis_client, "crawl") == []
        result = Scheduler(conn, sweeper=sweeper).run_once()
    assert result.resent == [str(job["id"])] and result.crawls == []
    assert queued_job_ids(redis_client, "crawl") == [str(job["id"])]


def test_stale_content_queues_one_refresh(db, broker, redis_client) -> None:

    row = _domain(db, "stale.example", "monthly", timedelta(days=1))
    db.execute(
        "INSERT INTO scraped_pages (domain_id, url, title, content, status, scraped_at) "
        "VALUES (%s, 'https://stale.example/old', 'Old', 'old text', 'scraped', now() - interval "
        "'30 days'), "
        "       (%s, 'https://stale.example/new', 'New', 'new text', 'scraped', now())",
        (row["id"], row["id"]),
    )
    with connect() as conn:
        first = Scheduler(conn, stale_after="7 days").run_once()
        db.execute("UPDATE content_refresh_jobs SET status = 'completed'")
        second = Scheduler(conn, stale_after="7 days").run_once()
    assert first.refreshes == ["stale.example"] and first.crawls == []
    assert second.refreshes == []  # refreshed within the window already
    [job] = _crawl_jobs(db, row["id"])
    assert job["metadata"]["reason"] == "stale"
    assert job["metadata"]["urls"] == ["https://stale.example/old"]
    assert queued_job_ids(redis_client, "crawl") == [str(job["id"])]


def test_two_scheduler_processes_queue_exactly_one_crawl(
    db, broker, redis_client, services_env
) -> None:
    rows = [_domain(db, f"race{i}.example", "hourly", timedelta(hours=3)) for i in range(5)]
    procs = [
        subprocess.Popen(
            [str(OMNI), "scheduler", "--once"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    for row in rows:
        assert len(_crawl_jobs(db, row["id"])) == 1, row["domain"]
    queued = queued_job_ids(redis_client, "crawl")
    assert len(queued) == 5 and len(set(queued)) == 5
    assert sorted(queued) == sorted(str(_crawl_jobs(db, r["id"])[0]["id"]) for r in rows)
    reported = sum(out.count("crawl queued:") for out, _ in outputs)
    assert reported == 5


def test_a_domain_locked_by_another_scheduler_is_skipped(db, broker, redis_client) -> None:

    row = _domain(db, "locked.example", "hourly", timedelta(hours=2))
    with connect() as other, connect() as conn:
        other.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCK_NAMESPACE, str(row["id"]))
        )
        result = Scheduler(conn).run_once()
        other.rollback()
    assert result.skipped == ["locked.example"] and result.crawls == []
    assert _crawl_jobs(db, row["id"]) == [] and queued_job_ids(redis_client, "crawl") == []


def test_a_stale_snapshot_is_rechecked_under_the_lock(db, broker, redis_client) -> None:
    """Scheduler B read the domains before A queued the crawl: B re-reads under the lock."""

    row = _domain(db, "late.example", "hourly", timedelta(hours=2))
    snapshot = {**row, "last_crawl_job_at": None, "busy": False}
    with connect() as a, connect() as b:
        assert Scheduler(a).run_once().crawls == ["late.example"]
        late = Scheduler(b)
        result = PassResult()
        late._consider(snapshot, result)
    assert result.skipped == ["late.example"] and result.crawls == []
    assert len(_crawl_jobs(db, row["id"])) == 1 and len(queued_job_ids(redis_client, "crawl")) == 1


def test_housekeeping_purges_expired_cache_syncs_curated_answers_and_queues_privacy_jobs(
    db, broker, redis_client
) -> None:

    world = build_world(db, "keeper")  # one row in every table, a fresh cache row among them
    db.execute(
        "INSERT INTO customer_data_cache (customer_id, domain_id, cache_key, data, expires_at) "
        "VALUES (%s, %s, 'old', '{}', now() - interval '1 minute'), "
        "(%s, %s, 'later', '{}', now() + interval '1 hour')",
        (world["customer"], world["domain"], world["customer"], world["domain"]),
    )
    domain = tenants.add_domain(db, "housekeeping.test")
    answer = db.execute(
        "INSERT INTO training_data (domain_id, type, input_text, output_text) "
        "VALUES (%s, 'qa', 'Open on Sundays?', 'No.') RETURNING id",
        (domain["id"],),
    ).fetchone()["id"]
    request = db.execute(
        "INSERT INTO privacy_requests (domain_id, request_type, requester_email) "
        "VALUES (%s, 'access', 's@x.test') RETURNING id",
        (domain["id"],),
    ).fetchone()["id"]

    with connect() as conn:
        result = Scheduler(conn, sender=lambda job_id, job_type: None).run_once()
        again = Scheduler(conn, sender=lambda job_id, job_type: None).run_once()
    assert result.cache_purged == 1 and again.cache_purged == 0
    assert {r["cache_key"] for r in db.execute("SELECT cache_key FROM customer_data_cache")} == {
        "later",
        db.execute(
            "SELECT cache_key FROM customer_data_cache WHERE id = %s",
            (world.rows["customer_data_cache"],),
        ).fetchone()["cache_key"],
    }
    assert "housekeeping.test" in result.knowledge_syncs and again.knowledge_syncs == []
    [page] = db.execute("SELECT title FROM scraped_pages WHERE url = %s", (f"curated:{answer}",))
    assert page["title"] == "Open on Sundays?"
    # the world's request and this one, each once
    assert str(request) in result.privacy_jobs and again.privacy_jobs == []
    assert (
        db.execute(
            "SELECT count(*) AS n FROM content_refresh_jobs WHERE job_type = 'privacy'"
        ).fetchone()["n"]
        == len(result.privacy_jobs)
        == 2
    )

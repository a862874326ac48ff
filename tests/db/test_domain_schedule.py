"""Due or busy (db/domain_schedule.py): the rule, table-driven, and the one SQL the scheduler,
the catalogue schedule and the dashboard share, with the origin rule in it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from db import jobs, tenants
from db.domain_schedule import (
    CATALOG_SYNCS,
    CRAWLS,
    domain_states,
    is_due_now,
    last_attempt,
    next_run_at,
)

T = datetime(2026, 1, 5, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    "frequency, done, job, busy, now, due",
    [
        ("daily", None, None, False, T, True),  # never run: due
        ("daily", T, None, False, T + timedelta(hours=23), False),
        ("daily", T, None, False, T + timedelta(days=1), True),
        ("daily", T - timedelta(days=3), T, False, T + timedelta(hours=1), False),  # a job just now
        ("hourly", T, None, True, T + timedelta(days=1), False),  # busy: wait for it
    ],
)
def test_is_due_now(frequency, done, job, busy, now, due) -> None:
    row = {"scrape_frequency": frequency, "last_done_at": done, "last_job_at": job, "busy": busy}
    assert is_due_now(row, now) is due


def test_last_attempt_is_the_later_of_the_last_run_and_the_last_job() -> None:
    assert last_attempt(
        {"last_done_at": T, "last_job_at": T + timedelta(hours=2)}
    ) == T + timedelta(hours=2)
    assert last_attempt({"last_done_at": T, "last_job_at": None}) == T
    assert last_attempt({"last_done_at": None, "last_job_at": None}) is None
    assert next_run_at(
        {"scrape_frequency": "daily", "last_done_at": T, "last_job_at": None}
    ) == T + timedelta(days=1)


def test_only_pipeline_jobs_make_a_domain_busy_or_postpone_it(db) -> None:
    domain = tenants.add_domain(db, "origin.example", frequency="daily")["id"]
    db.execute(
        "INSERT INTO catalog_sources (domain_id, platform, base_url, active) "
        "VALUES (%s, 'woocommerce', 'https://origin.example', true)",
        (domain,),
    )
    for schedule, job_type in ((CRAWLS, "crawl"), (CATALOG_SYNCS, "catalog")):
        [state] = domain_states(db, schedule, domain)
        assert state["busy"] is False and state["last_job_at"] is None
        job_id = jobs.create(db, domain, job_type)
        db.execute("UPDATE content_refresh_jobs SET origin = 'tenant' WHERE id = %s", (job_id,))
        [state] = domain_states(db, schedule, domain)
        assert state["busy"] is False and state["last_job_at"] is None  # a tenant's: ignored
        pipeline_job = jobs.create(db, domain, job_type)
        [state] = domain_states(db, schedule, domain)
        assert state["busy"] is True and state["last_job_at"] is not None
        db.execute("DELETE FROM content_refresh_jobs WHERE id = ANY(%s)", ([job_id, pipeline_job],))
    # a crawl job does not make the catalogue busy, nor the other way round
    jobs.create(db, domain, "crawl")
    assert domain_states(db, CATALOG_SYNCS, domain)[0]["busy"] is False
    assert domain_states(db, CRAWLS, domain)[0]["busy"] is True

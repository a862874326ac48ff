"""The job lifecycle (db.jobs): the pure transition table, and the same guards in SQL."""

from __future__ import annotations

import pytest

from db import jobs
from db.jobs import Event, InvalidTransition, Status, transition


@pytest.mark.parametrize("status, event, after", [
    ("pending", Event.START, Status.RUNNING),
    (None, Event.START, Status.RUNNING),                 # a NULL status is pending
    ("running", Event.START, Status.RUNNING),            # taken over after its runner died
    ("running", Event.COMPLETE, Status.COMPLETED),
    ("running", Event.FAIL, Status.FAILED),
    ("pending", Event.FAIL, Status.FAILED),              # dead-lettered, or never sent
    ("running", Event.RELEASE, Status.PENDING),          # transient failure: retried
    ("failed", Event.RESET, Status.PENDING),             # an operator's retry
])
def test_allowed_transitions(status, event, after):
    assert transition(status, event) == after


@pytest.mark.parametrize("status, event", [
    ("completed", Event.START),      # a redelivered message of a finished job is a no-op
    ("failed", Event.START),         # only a reset revives a failed job
    ("failed", Event.COMPLETE),      # complete never overwrites failed
    ("pending", Event.COMPLETE),     # only a started job completes
    ("completed", Event.COMPLETE),
    ("completed", Event.FAIL),       # fail never overwrites completed
    ("failed", Event.FAIL),
    ("pending", Event.RELEASE),
    ("completed", Event.RESET),
    ("running", Event.RESET),
    ("pending", Event.RESET),
])
def test_refused_transitions(status, event):
    with pytest.raises(InvalidTransition):
        transition(status, event)


@pytest.mark.parametrize("job_type, crawl", [
    ("crawl", True), ("full", True), ("extract", False), ("optimize", False), ("embed", False)])
def test_one_enum_of_job_types(job_type, crawl):
    assert jobs.is_crawl(job_type) is crawl
    assert job_type in jobs.JOB_TYPES


def _job(db, job_type="crawl"):
    from db import tenants

    domain = tenants.get_domain(db, "life.example") or tenants.add_domain(db, "life.example")
    return jobs.create(db, domain["id"], job_type)


def _status(db, job_id):
    return jobs.get(db, job_id)["status"]


def test_only_the_runner_that_started_a_job_completes_it(db):
    job_id = _job(db)
    first = jobs.start(db, job_id)
    assert first["metadata"]["attempts"] == 1
    second = jobs.start(db, job_id)              # a redelivery takes the job over
    assert second["metadata"]["attempts"] == 2 and second["runner"] != first["runner"]
    assert jobs.complete(db, job_id, first["runner"]) is False
    assert jobs.update_metadata(db, job_id, {"x": 1}, runner=first["runner"]) is False
    assert _status(db, job_id) == "running"
    assert jobs.complete(db, job_id, second["runner"], {"stats": {"new": 1}}) is True
    job = jobs.get(db, job_id)
    assert job["status"] == "completed" and job["metadata"]["stats"] == {"new": 1}
    assert jobs.start(db, job_id) is None        # completed: a redelivered message does nothing
    assert jobs.get(db, job_id)["metadata"]["attempts"] == 2


def test_complete_never_overwrites_failed_and_fail_never_overwrites_completed(db):
    job_id = _job(db)
    runner = jobs.start(db, job_id)["runner"]
    assert jobs.fail(db, job_id, "crawl process was killed by SIGKILL") is True
    assert jobs.complete(db, job_id, runner) is False
    job = jobs.get(db, job_id)
    assert job["status"] == "failed" and job["error_message"] == "crawl process was killed by SIGKILL"
    assert jobs.start(db, job_id) is None

    done = _job(db)
    jobs.complete(db, done, jobs.start(db, done)["runner"])
    assert jobs.fail(db, done, "late dead letter") is False
    assert _status(db, done) == "completed" and jobs.get(db, done)["error_message"] is None


def test_release_then_retry_counts_each_attempt_once(db):
    job_id = _job(db)
    runner = jobs.start(db, job_id)["runner"]
    assert jobs.release(db, job_id, runner, "timeout") is True
    job = jobs.get(db, job_id)
    assert job["status"] == "pending" and job["error_message"] == "timeout"
    runner = jobs.start(db, job_id)["runner"]
    assert jobs.complete(db, job_id, runner) is True
    job = jobs.get(db, job_id)
    assert job["metadata"]["attempts"] == 2 and job["error_message"] is None


def test_operator_retry_resets_a_failed_job_and_sends_it_once(db):
    job_id = _job(db)
    sent = []
    with pytest.raises(jobs.RetryRefused) as refused:
        jobs.retry(db, job_id, lambda *a: sent.append(a))
    assert refused.value.status == "pending" and sent == []
    jobs.fail(db, job_id, "boom", {"dead_lettered": True})
    row = jobs.retry(db, job_id, lambda *a: sent.append(a))
    assert row["status"] == "pending" and sent == [(row["id"], "crawl")]
    assert "dead_lettered" not in jobs.get(db, job_id)["metadata"]

    jobs.fail(db, job_id, "boom again")

    def broken(*_):
        raise ConnectionError("redis down")

    with pytest.raises(jobs.RetryNotSent):
        jobs.retry(db, job_id, broken)
    job = jobs.get(db, job_id)
    assert job["status"] == "failed" and "redis down" in job["error_message"]

"""The job lifecycle (db.jobs): every (state, event) pair, allowed and refused, in the pure table
and in the SQL guard of the function that applies the event, against one written-out matrix;
runner tokens, attempts and the operator's retry."""

from __future__ import annotations

from itertools import product

import pytest

from db import jobs, tenants
from db.jobs import Event, InvalidTransition, Status, transition

P, R, C, F = Status.PENDING, Status.RUNNING, Status.COMPLETED, Status.FAILED
# The state after each event; None: refused (the row is left as it is).
MATRIX: dict[Status, dict[Event, Status | None]] = {
    P: {
        Event.START: R,
        Event.COMPLETE: None,
        Event.FAIL: F,
        Event.RELEASE: None,
        Event.RESET: None,
        Event.EXPIRE: None,
    },
    R: {
        Event.START: R,
        Event.COMPLETE: C,
        Event.FAIL: F,
        Event.RELEASE: P,
        Event.RESET: None,
        Event.EXPIRE: P,
    },
    C: {
        Event.START: None,
        Event.COMPLETE: None,
        Event.FAIL: None,
        Event.RELEASE: None,
        Event.RESET: None,
        Event.EXPIRE: None,
    },
    F: {
        Event.START: None,
        Event.COMPLETE: None,
        Event.FAIL: None,
        Event.RELEASE: None,
        Event.RESET: P,
        Event.EXPIRE: None,
    },
}
PAIRS = [(state, event, MATRIX[state][event]) for state, event in product(Status, Event)]
RUNNER = "runner-1"


def _apply(conn, job_id, event: Event) -> bool:
    """The db.jobs function for `event`, called by the runner that holds the job; True if it
    changed the row."""
    if event == Event.START:
        return jobs.start(conn, job_id) is not None
    if event == Event.COMPLETE:
        return jobs.complete(conn, job_id, RUNNER)
    if event == Event.FAIL:
        return jobs.fail(conn, job_id, "boom", runner=RUNNER)
    if event == Event.RELEASE:
        return jobs.release(conn, job_id, RUNNER, "try again")
    if event == Event.EXPIRE:  # the row has no lease: an expired one
        return [r["id"] for r in jobs.release_expired(conn)] == [job_id]
    return jobs.reset_for_retry(conn, job_id) is not None


def test_the_matrix_names_every_state_and_event() -> None:
    assert set(MATRIX) == set(Status)
    assert all(set(events) == set(Event) for events in MATRIX.values())
    assert len(PAIRS) == len(Status) * len(Event)


@pytest.mark.parametrize("state, event, after", PAIRS)
def test_transition_table(state: Status, event: Event, after: Status | None) -> None:
    if after is None:
        with pytest.raises(InvalidTransition, match=f"a {state} job cannot {event}"):
            transition(state, event)
    else:
        assert transition(state, event) == after


@pytest.mark.parametrize("state, event, after", PAIRS)
def test_sql_guard(db, state: Status, event: Event, after: Status | None) -> None:

    domain = tenants.add_domain(db, "transitions.example")
    job_id = jobs.create(db, domain["id"], "embed")
    db.execute(
        "UPDATE content_refresh_jobs SET status = %s, "
        "metadata = jsonb_build_object('runner', %s::text) WHERE id = %s",
        (state.value, RUNNER, job_id),
    )
    changed = _apply(db, job_id, event)
    assert changed is (after is not None)
    assert jobs.get(db, job_id)["status"] == (after or state).value


def test_a_null_status_is_pending() -> None:
    assert transition(None, Event.START) == Status.RUNNING


@pytest.mark.parametrize(
    "job_type, crawl",
    [("crawl", True), ("full", True), ("extract", False), ("optimize", False), ("embed", False)],
)
def test_one_enum_of_job_types(job_type, crawl):
    assert jobs.is_crawl(job_type) is crawl
    assert job_type in jobs.JOB_TYPES


def _job(db, job_type="crawl"):

    domain = tenants.get_domain(db, "life.example") or tenants.add_domain(db, "life.example")
    return jobs.create(db, domain["id"], job_type)


def _status(db, job_id):
    return jobs.get(db, job_id)["status"]


def _expire(db, job_id) -> None:
    db.execute(
        "UPDATE content_refresh_jobs SET metadata = metadata || "
        "jsonb_build_object('lease_expires_at', (now() - interval '1 second')::text) "
        "WHERE id = %s OR metadata->>'merged_into' = %s::text",
        (job_id, job_id),
    )


def test_a_lease_is_renewed_by_its_runner_only_and_released_once_expired(db):
    job_id = _job(db)
    first = jobs.start(db, job_id, lease_s=30)
    assert jobs.release_expired(db) == []  # live: nobody may take it
    _expire(db, job_id)
    assert jobs.renew(db, job_id, first["runner"], 30) is True  # not taken yet: renewed
    assert jobs.release_expired(db) == [] and jobs.start(db, job_id) is None
    _expire(db, job_id)
    assert [r["id"] for r in jobs.release_expired(db)] == [job_id]
    job = jobs.get(db, job_id)
    assert job["status"] == "pending" and "lease" in job["error_message"]
    assert jobs.renew(db, job_id, first["runner"], 30) is False  # released: no longer its
    with pytest.raises(jobs.LeaseLost), db.transaction():
        jobs.hold(db, job_id, first["runner"])
    second = jobs.start(db, job_id)
    with db.transaction():
        jobs.hold(db, job_id, second["runner"])  # the new runner holds it


def test_a_running_job_taken_over_says_why_and_a_pending_one_does_not(db):
    job_id = _job(db)
    jobs.start(db, job_id, lease_s=30)
    assert "taken_over_at" not in jobs.get(db, job_id)["metadata"]  # pending -> running
    _expire(db, job_id)
    jobs.start(db, job_id, lease_s=30)  # its runner stopped renewing: taken over
    meta = jobs.get(db, job_id)["metadata"]
    assert meta["last_error"] == jobs.TAKEN_OVER and meta["attempts"] == 2
    assert "taken_over_at" in meta


def test_a_tenant_job_with_an_expired_lease_is_left_alone(db):
    job_id = _job(db)
    jobs.start(db, job_id)
    _expire(db, job_id)
    db.execute("UPDATE content_refresh_jobs SET origin = 'tenant' WHERE id = %s", (job_id,))
    assert jobs.release_expired(db) == []


def test_merged_siblings_share_the_leaders_runner_and_lease_and_end_with_it(db):
    domain = tenants_domain(db)
    ids = [jobs.create(db, domain, "embed", {"page_ids": [f"p{i}"]}) for i in range(3)]
    leader = jobs.start(db, ids[0])
    claimed = jobs.claim_siblings(db, leader, force=False, room=100)
    assert sorted(r["id"] for r in claimed) == sorted(ids[1:])
    assert all(jobs.start(db, i) is None for i in ids[1:])  # their messages: nothing to do
    assert jobs.renew(db, ids[0], leader["runner"]) is True
    assert jobs.release_siblings(db, ids[1:2], "someone else", "x") == []
    back = jobs.release_siblings(db, ids[1:2], leader["runner"], "leader failed")
    assert [r["id"] for r in back] == [ids[1]] and _status(db, ids[1]) == "pending"
    assert jobs.complete_siblings(db, ids[2:], leader["runner"]) == 1
    assert _status(db, ids[2]) == "completed"
    # a leader that died: its siblings' leases expire with its own and all are released
    other = jobs.create(db, domain, "embed", {"page_ids": ["q"]})
    leader2 = jobs.start(db, ids[1])
    jobs.claim_siblings(db, leader2, force=False, room=100)
    _expire(db, ids[1])
    assert sorted(r["id"] for r in jobs.release_expired(db)) == sorted([ids[1], other])


def tenants_domain(db):

    return (tenants.get_domain(db, "life.example") or tenants.add_domain(db, "life.example"))["id"]


def test_only_the_runner_that_started_a_job_completes_it(db):
    job_id = _job(db)
    first = jobs.start(db, job_id)
    assert first["metadata"]["attempts"] == 1
    assert jobs.start(db, job_id) is None  # a duplicate message while the lease is live
    _expire(db, job_id)
    second = jobs.start(db, job_id)  # the lease expired: a redelivery takes it over
    assert second["metadata"]["attempts"] == 2 and second["runner"] != first["runner"]
    assert jobs.complete(db, job_id, first["runner"]) is False
    assert jobs.update_metadata(db, job_id, {"x": 1}, runner=first["runner"]) is False
    assert _status(db, job_id) == "running"
    assert jobs.complete(db, job_id, second["runner"], {"stats": {"new": 1}}) is True
    job = jobs.get(db, job_id)
    assert job["status"] == "completed" and job["metadata"]["stats"] == {"new": 1}
    assert jobs.start(db, job_id) is None  # completed: a redelivered message does nothing
    assert jobs.get(db, job_id)["metadata"]["attempts"] == 2


def test_complete_never_overwrites_failed_and_fail_never_overwrites_completed(db):
    job_id = _job(db)
    runner = jobs.start(db, job_id)["runner"]
    assert jobs.fail(db, job_id, "crawl process was killed by SIGKILL") is True
    assert jobs.complete(db, job_id, runner) is False
    job = jobs.get(db, job_id)
    assert (
        job["status"] == "failed" and job["error_message"] == "crawl process was killed by SIGKILL"
    )
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


def test_attempts_count_on_the_row_and_an_operator_retry_renews_the_budget(db):
    job_id = _job(db)
    for _ in range(2):  # two attempts, each by another message or a takeover
        runner = jobs.start(db, job_id, max_attempts=2)["runner"]
        assert jobs.release(db, job_id, runner, "timeout") is True
    assert jobs.start(db, job_id, max_attempts=2) is None  # the budget is spent
    assert jobs.give_up(db, job_id, 3) is None  # not by a budget of 3
    failed = jobs.give_up(db, job_id, 2)
    assert failed["status"] == "failed" and failed["metadata"]["dead_lettered"] is True
    assert failed["error_message"] == "timeout (gave up after 2 attempts)"
    assert jobs.give_up(db, job_id, 2) is None  # already failed

    jobs.reset_for_retry(db, job_id)
    job = jobs.start(db, job_id, max_attempts=2)
    assert job is not None and jobs.attempts_used(job) == 1
    assert job["metadata"]["attempts"] == 3


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


def test_merged_siblings_fit_the_room_together_not_each(db):
    domain = tenants_domain(db)
    leader_id = jobs.create(db, domain, "embed", {"page_ids": ["l"]})
    big = [
        jobs.create(db, domain, "embed", {"page_ids": [f"b{i}-{n}" for n in range(60)]})
        for i in range(2)
    ]
    small = jobs.create(db, domain, "embed", {"page_ids": ["s"]})
    leader = jobs.start(db, leader_id)
    claimed = jobs.claim_siblings(db, leader, force=False, room=100)
    # 60 + 60 pages do not fit in 100: the first joins, the second is left, the small one joins
    assert sorted(r["id"] for r in claimed) == sorted([big[0], small])
    assert _status(db, big[1]) == "pending"


def test_split_off_moves_the_rest_to_new_jobs_under_the_runner_only(db):
    domain = tenants_domain(db)
    job_id = jobs.create(db, domain, "embed", {"page_ids": ["a", "b", "c"], "crawl_job_id": "c1"})
    job = jobs.start(db, job_id)
    new = jobs.split_off(db, job, ["a"], [["b"], ["c"]])
    kept = jobs.get(db, job_id)
    assert kept["metadata"]["page_ids"] == ["a"] and kept["status"] == "running"
    assert kept["metadata"]["split_into"] == [str(i) for i in new]
    rows = [jobs.get(db, i) for i in new]
    assert [r["metadata"]["page_ids"] for r in rows] == [["b"], ["c"]]
    assert {(r["status"], r["origin"], r["metadata"]["crawl_job_id"]) for r in rows} == {
        ("pending", "pipeline", "c1")
    }
    assert all(r["metadata"]["split_from"] == str(job_id) for r in rows)
    with pytest.raises(jobs.LeaseLost):  # a runner that lost its job splits nothing
        jobs.split_off(db, {**job, "runner": "someone else"}, [], [["a"]])
    assert jobs.get(db, job_id)["metadata"]["page_ids"] == ["a"]

"""Every (state, event) pair of db/jobs.py's lifecycle, allowed and refused: the pure table and
the SQL guard of the function that applies the event agree with one written-out matrix."""

from __future__ import annotations

from itertools import product

import pytest

from db import jobs
from db.jobs import Event, InvalidTransition, Status, transition

P, R, C, F = Status.PENDING, Status.RUNNING, Status.COMPLETED, Status.FAILED
# The state after each event; None: refused (the row is left as it is).
MATRIX: dict[Status, dict[Event, Status | None]] = {
    P: {Event.START: R, Event.COMPLETE: None, Event.FAIL: F, Event.RELEASE: None,
        Event.RESET: None},
    R: {Event.START: R, Event.COMPLETE: C, Event.FAIL: F, Event.RELEASE: P, Event.RESET: None},
    C: {Event.START: None, Event.COMPLETE: None, Event.FAIL: None, Event.RELEASE: None,
        Event.RESET: None},
    F: {Event.START: None, Event.COMPLETE: None, Event.FAIL: None, Event.RELEASE: None,
        Event.RESET: P},
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
    from db import tenants

    domain = tenants.add_domain(db, "transitions.example")
    job_id = jobs.create(db, domain["id"], "embed")
    db.execute("UPDATE content_refresh_jobs SET status = %s, "
               "metadata = jsonb_build_object('runner', %s::text) WHERE id = %s",
               (state.value, RUNNER, job_id))
    changed = _apply(db, job_id, event)
    assert changed is (after is not None)
    assert jobs.get(db, job_id)["status"] == (after or state).value

"""`content_refresh_jobs`: the one job module. Every unit of work (a crawl, an extraction, an
embedding batch...) is a row here, and every caller (the worker runner, the crawl child, the
CLI, the scheduler, the dashboard) moves it through the functions below.

Lifecycle (`TRANSITIONS`, a pure table; each SQL update is guarded by the states it allows):

    pending --start--> running --complete--> completed
                          |  \\--fail-------> failed --reset--> pending   (a manual retry)
                          \\--release--> pending                          (retried later)
    pending --fail--> failed        (dead-lettered, or its message could not be sent)
    running --start--> running      (taken over: the runner that held it died)

- `start` counts the attempt (once per start) and hands out a fresh runner token; only the
  holder of that token may `complete`, `fail` or `release` the job. A runner whose job was taken
  over, or already failed, changes nothing.
- `complete` never overwrites `failed` (nor anything but `running`).
- `metadata` is merged, never replaced, so counters written by different steps survive.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from enum import StrEnum
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb


class JobType(StrEnum):
    CRAWL = "crawl"
    EXTRACT = "extract"
    OPTIMIZE = "optimize"
    EMBED = "embed"
    FULL = "full"          # a crawl whose pages then go through extract, optimize and embed
    CATALOG = "catalog"    # products from the shop's own API (workers/catalog_sync_job.py)
    PRIVACY = "privacy"    # a privacy request's export or erasure (workers/privacy_job.py)


class Status(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class Event(StrEnum):
    START = "start"
    COMPLETE = "complete"
    FAIL = "fail"
    RELEASE = "release"    # a transient failure: back to pending, its message is retried
    RESET = "reset"        # an operator's retry of a failed job


JOB_TYPES: tuple[str, ...] = tuple(t.value for t in JobType)
STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
CRAWL_TYPES: tuple[str, ...] = (JobType.CRAWL.value, JobType.FULL.value)
ACTIVE: tuple[str, ...] = (Status.PENDING.value, Status.RUNNING.value)

TRANSITIONS: dict[tuple[Status, Event], Status] = {
    (Status.PENDING, Event.START): Status.RUNNING,
    (Status.RUNNING, Event.START): Status.RUNNING,
    (Status.RUNNING, Event.COMPLETE): Status.COMPLETED,
    (Status.RUNNING, Event.FAIL): Status.FAILED,
    (Status.PENDING, Event.FAIL): Status.FAILED,
    (Status.RUNNING, Event.RELEASE): Status.PENDING,
    (Status.FAILED, Event.RESET): Status.PENDING,
}
# Events only the runner holding the job may apply.
OWNED_EVENTS = frozenset({Event.COMPLETE, Event.RELEASE})


class InvalidTransition(ValueError):
    pass


def transition(status: str | None, event: Event) -> Status:
    """The state after `event` in state `status` (NULL is pending); InvalidTransition if the
    lifecycle does not allow it."""
    current = Status(status or Status.PENDING)
    after = TRANSITIONS.get((current, event))
    if after is None:
        raise InvalidTransition(f"a {current} job cannot {event}")
    return after


def allowed_from(event: Event) -> list[str]:
    """The states `event` may be applied in (the SQL guard of each update)."""
    return [s.value for (s, e) in TRANSITIONS if e == event]


def is_crawl(job_type: str) -> bool:
    return job_type in CRAWL_TYPES


# --------------------------------------------------------------------------- reads and writes


def create(conn: psycopg.Connection, domain_id: UUID | str, job_type: str,
           metadata: dict[str, Any] | None = None) -> UUID:
    if job_type not in JOB_TYPES:
        raise ValueError(f"unknown job type {job_type!r}; expected one of {', '.join(JOB_TYPES)}")
    row = conn.execute(
        "INSERT INTO content_refresh_jobs (domain_id, job_type, status, metadata) "
        "VALUES (%s, %s, 'pending', %s) RETURNING id",
        (domain_id, job_type, Jsonb(metadata or {})),
    ).fetchone()
    return _value(row, "id")


def get(conn: psycopg.Connection, job_id: UUID | str) -> dict[str, Any] | None:
    return conn.execute(
        "SELECT j.*, d.domain FROM content_refresh_jobs j LEFT JOIN domains d ON d.id = j.domain_id "
        "WHERE j.id = %s",
        (job_id,),
    ).fetchone()


def runner_of(job: dict[str, Any] | None) -> str | None:
    return ((job or {}).get("metadata") or {}).get("runner")


def start(conn: psycopg.Connection, job_id: UUID | str) -> dict[str, Any] | None:
    """Mark a job running, count the attempt and return it with its new `runner` token; None if
    it does not exist or is completed / failed (a redelivered message is then a no-op)."""
    runner = uuid.uuid4().hex
    row = conn.execute(
        "UPDATE content_refresh_jobs SET status = 'running', started_at = NOW(), "
        "completed_at = NULL, metadata = metadata || jsonb_build_object("
        "'attempts', COALESCE((metadata->>'attempts')::int, 0) + 1, 'runner', %s::text) "
        "WHERE id = %s AND COALESCE(status, 'pending') = ANY(%s) RETURNING *",
        (runner, job_id, allowed_from(Event.START)),
    ).fetchone()
    if row is not None:
        row = dict(row)
        row["runner"] = runner
    return row


def update_metadata(conn: psycopg.Connection, job_id: UUID | str, metadata: dict[str, Any],
                    runner: str | None = None) -> bool:
    """Merge into the job's metadata; with `runner`, only while that runner holds the job."""
    guard = " AND status = 'running' AND metadata->>'runner' = %s" if runner else ""
    cur = conn.execute(
        f"UPDATE content_refresh_jobs SET metadata = metadata || %s WHERE id = %s{guard}",
        (Jsonb(metadata), job_id, *([runner] if runner else [])),
    )
    return cur.rowcount > 0


def complete(conn: psycopg.Connection, job_id: UUID | str, runner: str,
             metadata: dict[str, Any] | None = None) -> bool:
    """running -> completed, by the runner that started it. False (nothing written) if the job
    is not running under `runner`: it failed, or another runner took it over."""
    cur = conn.execute(
        "UPDATE content_refresh_jobs SET status = 'completed', completed_at = NOW(), "
        "error_message = NULL, metadata = metadata || %s "
        "WHERE id = %s AND status = ANY(%s) AND metadata->>'runner' = %s",
        (Jsonb(metadata or {}), job_id, allowed_from(Event.COMPLETE), runner),
    )
    return cur.rowcount > 0


def fail(conn: psycopg.Connection, job_id: UUID | str, error: str,
         metadata: dict[str, Any] | None = None, *, runner: str | None = None) -> bool:
    """pending | running -> failed with the reason. With `runner`, only while that runner holds
    it; without (a dead-lettered message, a send that failed), from any unfinished state.
    Never overwrites completed."""
    guard = " AND metadata->>'runner' = %s" if runner else ""
    cur = conn.execute(
        "UPDATE content_refresh_jobs SET status = 'failed', completed_at = NOW(), "
        f"error_message = %s, metadata = metadata || %s WHERE id = %s "
        f"AND COALESCE(status, 'pending') = ANY(%s){guard}",
        (error[:4000], Jsonb(metadata or {}), job_id, allowed_from(Event.FAIL),
         *([runner] if runner else [])),
    )
    return cur.rowcount > 0


def release(conn: psycopg.Connection, job_id: UUID | str, runner: str, error: str,
            metadata: dict[str, Any] | None = None) -> bool:
    """running -> pending after a transient failure (its message is retried); the reason stays
    in `error_message` until an attempt succeeds."""
    cur = conn.execute(
        "UPDATE content_refresh_jobs SET status = 'pending', error_message = %s, "
        "metadata = metadata || %s WHERE id = %s AND status = ANY(%s) AND metadata->>'runner' = %s",
        (error[:4000], Jsonb(metadata or {}), job_id, allowed_from(Event.RELEASE), runner),
    )
    return cur.rowcount > 0


def reset_for_retry(conn: psycopg.Connection, job_id: UUID | str) -> dict[str, Any] | None:
    """A failed job back to pending (the caller re-sends its message). None if it is not failed."""
    return conn.execute(
        "UPDATE content_refresh_jobs SET status = 'pending', started_at = NULL, completed_at = NULL, "
        "error_message = NULL, metadata = metadata - 'dead_lettered' "
        "WHERE id = %s AND status = ANY(%s) RETURNING *",
        (job_id, allowed_from(Event.RESET)),
    ).fetchone()


class RetryRefused(Exception):
    """A retry that cannot be done: `status` is the job's state (None: no such job)."""

    def __init__(self, job_id: str, status: str | None) -> None:
        self.job_id, self.status = job_id, status
        super().__init__(f"no job {job_id}" if status is None else
                         f"job {job_id} is {status}, not failed; only failed jobs are retried")


class RetryNotSent(Exception):
    pass


Sender = Callable[[Any, str], Any]


def retry(conn: psycopg.Connection, job_id: UUID | str, send: Sender) -> dict[str, Any]:
    """An operator's retry (CLI, dashboard): a failed job back to pending, committed, then its
    message sent. If the send fails, the job is failed again with that reason (it must not look
    queued) and RetryNotSent is raised. `conn` must commit each statement (autocommit) or be
    committed by `retry` itself."""
    row = reset_for_retry(conn, job_id)
    if row is None:
        current = get(conn, job_id)
        _commit(conn)
        raise RetryRefused(str(job_id), current["status"] if current else None)
    _commit(conn)
    try:
        send(row["id"], row["job_type"])
    except Exception as exc:
        fail(conn, row["id"], f"retry could not be queued: {exc}")
        _commit(conn)
        raise RetryNotSent(str(exc)) from exc
    return row


def _commit(conn: psycopg.Connection) -> None:
    if not conn.autocommit:
        conn.commit()


def _value(row: Any, key: str) -> Any:
    return row[key] if isinstance(row, dict) else row[0]


def dumps(metadata: dict[str, Any]) -> str:
    return json.dumps(metadata, default=str, sort_keys=True)

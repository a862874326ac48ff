"""`content_refresh_jobs`: the one job module. Every unit of work (a crawl, an extraction, an
embedding batch...) is a row here, and every caller (the worker runner, the crawl child, the
CLI, the scheduler, the dashboard) moves it through the functions below.

Lifecycle (`TRANSITIONS`, a pure table; each SQL update is guarded by the states it allows):

    pending --start--> running --complete--> completed
                          |  \\--fail-------> failed --reset--> pending   (a manual retry)
                          \\--release--> pending                          (retried later)
    pending --fail--> failed        (dead-lettered, or its message could not be sent)
    running --start--> running      (taken over: its lease had expired)
    running --expire--> pending     (its lease expired: the sweeper re-sends it)

- `start` counts the attempt (once per start, on the row: a job's retry budget is spent by
  every attempt, whichever message or takeover started it; `give_up` fails it once spent) and
  hands out a fresh runner token and a lease; only the holder of that token may `complete`,
  `fail` or `release` the job, and the runner renews the lease while it works (`renew`). A
  running job is taken over (`start`) or released (`release_expired`) only once its lease has
  expired. A runner whose job was taken over, or already failed, changes nothing: `hold`
  (inside each of its write transactions) raises `LeaseLost`, and its row lock keeps a
  takeover out until that transaction ends.
- The merged embed job: the leader claims the domain's other pending embed jobs
  (`claim_siblings`); they share its runner token and lease, and it completes or releases them
  with its own outcome.
- `complete` never overwrites `failed` (nor anything but `running`).
- `metadata` is merged, never replaced, so counters written by different steps survive.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from db import embed_sizing
from db.connection import Conn


class JobType(StrEnum):
    CRAWL = "crawl"
    EXTRACT = "extract"
    OPTIMIZE = "optimize"
    EMBED = "embed"
    FULL = "full"  # a crawl whose pages then go through extract, optimize and embed
    CATALOG = "catalog"  # products from the shop's own API (workers/catalog_sync_job.py)
    PRIVACY = "privacy"  # a privacy request's export or erasure (workers/privacy_job.py)


class Status(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class Event(StrEnum):
    START = "start"
    COMPLETE = "complete"
    FAIL = "fail"
    RELEASE = "release"  # a transient failure: back to pending, its message is retried
    RESET = "reset"  # an operator's retry of a failed job
    EXPIRE = "expire"  # its lease expired: back to pending for whoever notices first


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
    (Status.RUNNING, Event.EXPIRE): Status.PENDING,
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


def create(
    conn: Conn,
    domain_id: UUID | str,
    job_type: str,
    metadata: dict[str, Any] | None = None,
) -> UUID:
    if job_type not in JOB_TYPES:
        raise ValueError(f"unknown job type {job_type!r}; expected one of {', '.join(JOB_TYPES)}")
    row = conn.execute(
        "INSERT INTO content_refresh_jobs (domain_id, job_type, status, metadata) "
        "VALUES (%s, %s, 'pending', %s) RETURNING id",
        (domain_id, job_type, Jsonb(metadata or {})),
    ).fetchone()
    return _value(row, "id")


def get(conn: Conn, job_id: UUID | str) -> dict[str, Any] | None:
    return conn.execute(
        "SELECT j.*, d.domain FROM content_refresh_jobs j LEFT JOIN domains d ON d.id = "
        "j.domain_id "
        "WHERE j.id = %s",
        (job_id,),
    ).fetchone()


def runner_of(job: dict[str, Any] | None) -> str | None:
    return ((job or {}).get("metadata") or {}).get("runner")


DEFAULT_LEASE_S = 30  # OMNI_JOB_LEASE_S; callers pass the setting


# A running job's lease is live while metadata.lease_expires_at is in the future (no lease:
# expired, e.g. a job started before leases existed).
def lease_live_sql(alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return f"({prefix}metadata->>'lease_expires_at')::timestamptz > now()"


LEASE_LIVE = lease_live_sql()


def health_columns(alias: str) -> str:
    """SQL columns for a job list: `lease_live` and `idle_s` (seconds since the row changed),
    what `workers.sweeper.orphan_reason` reads."""
    return (
        f"COALESCE({lease_live_sql(alias)}, false) AS lease_live, "
        f"extract(epoch FROM now() - {alias}.updated_at)::float8 AS idle_s"
    )


_LEASE = "'lease_expires_at', now() + make_interval(secs => %(lease)s)"


class LeaseLost(Exception):
    """This runner no longer holds its job (its lease expired and it was released or taken
    over): it must write nothing more and stop."""


# Attempts count on the row, whoever started them (a redelivered message, one the sweeper
# re-sent, a takeover after an expired lease): the retry budget is the row's, not a message's.
# An operator's retry starts a new budget (`attempts_at_reset`).
_ATTEMPTS_USED = (
    "(COALESCE((metadata->>'attempts')::int, 0) "
    "- COALESCE((metadata->>'attempts_at_reset')::int, 0))"
)


def attempts_used(job: dict[str, Any]) -> int:
    """The attempts counted against the job's retry budget (since an operator's last retry)."""
    meta = job.get("metadata") or {}
    return int(meta.get("attempts") or 0) - int(meta.get("attempts_at_reset") or 0)


TAKEN_OVER = "its runner stopped renewing its lease (killed, paused or cut off); taken over"


def start(
    conn: Conn,
    job_id: UUID | str,
    lease_s: float = DEFAULT_LEASE_S,
    max_attempts: int | None = None,
) -> dict[str, Any] | None:
    """Mark a job running, count the attempt and return it with its new `runner` token and
    lease; None if it does not exist, is completed / failed (a redelivered message is then a
    no-op), is running under a live lease (its runner is alive: a duplicate message) or has
    used `max_attempts` already (`give_up` then fails it). A running job taken over records why
    (`last_error`, `taken_over_at`)."""
    runner = uuid.uuid4().hex
    row = conn.execute(
        "UPDATE content_refresh_jobs SET status = 'running', started_at = NOW(), "
        "completed_at = NULL, metadata = (metadata - 'merged_into') || jsonb_build_object("
        "'attempts', COALESCE((metadata->>'attempts')::int, 0) + 1, 'runner', %(runner)s::text, "
        f"{_LEASE}) || CASE WHEN status = 'running' THEN jsonb_build_object("
        f"'last_error', %(taken_over)s::text, 'taken_over_at', now()::text) ELSE '{{}}' END "
        "WHERE id = %(id)s AND COALESCE(status, 'pending') = ANY(%(from)s) "
        f"AND (COALESCE(status, 'pending') <> 'running' OR NOT COALESCE({LEASE_LIVE}, false)) "
        f"AND (%(max)s::int IS NULL OR {_ATTEMPTS_USED} < %(max)s::int) "
        "RETURNING *",
        {
            "runner": runner,
            "id": job_id,
            "from": allowed_from(Event.START),
            "lease": lease_s,
            "max": max_attempts,
            "taken_over": TAKEN_OVER,
        },
    ).fetchone()
    if row is not None:
        row = dict(row)
        row["runner"] = runner
    return row


def give_up(conn: Conn, job_id: UUID | str, max_attempts: int) -> dict[str, Any] | None:
    """Fail a job that has used `max_attempts` and that no runner holds (pending, or running
    under an expired lease: its last attempt's runner died), with its last error and "(gave up
    after N attempts)"; the row, or None if it is not such a job."""
    return conn.execute(
        "UPDATE content_refresh_jobs SET status = 'failed', completed_at = NOW(), "
        "error_message = left(COALESCE(error_message, metadata->>'last_error', 'no error recorded')"
        f" || ' (gave up after ' || {_ATTEMPTS_USED} || ' attempts)', 4000), "
        "metadata = (metadata - 'merged_into') || jsonb_build_object('dead_lettered', true) "
        "WHERE id = %(id)s AND COALESCE(status, 'pending') = ANY(%(from)s) "
        f"AND (COALESCE(status, 'pending') <> 'running' OR NOT COALESCE({LEASE_LIVE}, false)) "
        f"AND {_ATTEMPTS_USED} >= %(max)s::int RETURNING *",
        {"id": job_id, "from": allowed_from(Event.FAIL), "max": max_attempts},
    ).fetchone()


def renew(conn: Conn, job_id: UUID | str, runner: str, lease_s: float = DEFAULT_LEASE_S) -> bool:
    """Extend the lease of the job (and of the siblings it merged) while `runner` holds it.
    False: the job is no longer this runner's."""
    cur = conn.execute(
        f"UPDATE content_refresh_jobs SET metadata = metadata || jsonb_build_object({_LEASE}) "
        "WHERE (id = %(id)s OR metadata->>'merged_into' = %(id)s::text) AND status = 'running' "
        "AND metadata->>'runner' = %(runner)s RETURNING id = %(id)s AS own",
        {"id": job_id, "runner": runner, "lease": lease_s},
    )
    return any(r["own"] if isinstance(r, dict) else r[0] for r in cur.fetchall())


def hold(conn: Conn, job_id: UUID | str, runner: str) -> None:
    """Inside a write transaction: LeaseLost unless `runner` still holds the job. The row lock
    (FOR SHARE) keeps a takeover out until the transaction ends, so nothing is written by a
    runner whose job was taken over."""
    row = conn.execute(
        "SELECT 1 FROM content_refresh_jobs WHERE id = %s AND status = 'running' "
        "AND metadata->>'runner' = %s FOR SHARE",
        (job_id, runner),
    ).fetchone()
    if row is None:
        raise LeaseLost(f"job {job_id} is no longer held by runner {runner}")


@contextmanager
def held(conn: Conn, job: dict[str, Any]) -> Iterator[Conn]:
    """`with held(conn, job):` a transaction that writes only while the job's runner holds it
    (the job modules' write transactions)."""
    with conn.transaction():
        if job.get("runner"):
            hold(conn, job["id"], job["runner"])
        yield conn


def claim_siblings(
    conn: Conn,
    leader: dict[str, Any],
    *,
    force: bool,
    room: int,
    room_tokens: int | None = None,
    lease_s: float = DEFAULT_LEASE_S,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """The merged embed job: the domain's other pending pipeline embed jobs with page ids (and
    those already merged into `leader` by a run that died) join it: running, under the leader's
    runner token and lease, `merged_into` the leader. SKIP LOCKED: a job another leader is
    claiming is left to it. Together they hold at most `room` pages and, when given,
    `room_tokens` estimated tokens (db/embed_sizing.py); a job that does not fit is left."""
    params = {
        "id": leader["id"],
        "runner": leader["runner"],
        "domain": leader["domain_id"],
        "force": force,
        "limit": limit,
        "lease": lease_s,
    }
    candidates = conn.execute(
        "SELECT s.id, s.metadata->'page_ids' AS page_ids FROM content_refresh_jobs s "
        "WHERE s.job_type = 'embed' AND s.origin = 'pipeline' "
        "  AND (s.status = 'pending' OR (s.status = 'running' "
        "       AND s.metadata->>'merged_into' = %(id)s::text)) "
        "  AND s.domain_id = %(domain)s AND s.id <> %(id)s "
        "  AND jsonb_typeof(s.metadata->'page_ids') = 'array' "
        "  AND COALESCE((s.metadata->>'force')::boolean, false) = %(force)s "
        "ORDER BY s.created_at, s.id LIMIT %(limit)s FOR UPDATE SKIP LOCKED",
        params,
    ).fetchall()
    groups = [(c["id"], [str(p) for p in c["page_ids"]]) for c in candidates]
    tokens = (
        embed_sizing.page_tokens(conn, leader["domain_id"], [p for _, ids in groups for p in ids])
        if room_tokens is not None
        else {}
    )
    chosen = embed_sizing.take_within(
        groups, max(0, room), room_tokens if room_tokens is not None else 1 << 62, tokens
    )
    if not chosen:
        return []
    return conn.execute(
        "UPDATE content_refresh_jobs j SET status = 'running', started_at = now(), "
        "error_message = NULL, metadata = j.metadata || jsonb_build_object("
        f"'merged_into', %(id)s::text, 'runner', %(runner)s::text, {_LEASE}) "
        "WHERE j.id = ANY(%(chosen)s) "
        "AND EXISTS (SELECT 1 FROM content_refresh_jobs l WHERE l.id = %(id)s "
        "  AND l.status = 'running' AND l.metadata->>'runner' = %(runner)s) "
        "RETURNING j.id, j.metadata",
        {**params, "chosen": chosen},
    ).fetchall()


def split_off(
    conn: Conn, job: dict[str, Any], keep: list[str], rest: list[list[str]]
) -> list[UUID]:
    """A running job too big for its time limit (db/embed_sizing.py) keeps the pages `keep`
    and hands each batch of `rest` to a new pending job of its kind, in one transaction and
    only while its runner holds it. The new jobs keep what the job was for (its crawl, force)
    and say where they came from; the caller sends their messages after the commit (or the
    sweeper does). A run of the job after this one finds only `keep` to do."""
    carried = {k: v for k, v in (job.get("metadata") or {}).items() if k in _CARRIED}
    with held(conn, job):
        ids = [
            create(
                conn,
                job["domain_id"],
                job["job_type"],
                {**carried, "page_ids": batch, "split_from": str(job["id"])},
            )
            for batch in rest
        ]
        conn.execute(
            "UPDATE content_refresh_jobs SET metadata = metadata || %s WHERE id = %s",
            (Jsonb({"page_ids": keep, "split_into": [str(i) for i in ids]}), job["id"]),
        )
    return ids


_CARRIED = ("crawl_job_id", "force", "requested_by")


def complete_siblings(conn: Conn, ids: list[Any], runner: str) -> int:
    """The merged jobs done with their leader (running -> completed, under its runner)."""
    if not ids:
        return 0
    cur = conn.execute(
        "UPDATE content_refresh_jobs SET status = 'completed', completed_at = now(), "
        "error_message = NULL WHERE id = ANY(%s) AND status = ANY(%s) "
        "AND metadata->>'runner' = %s",
        (ids, allowed_from(Event.COMPLETE), runner),
    )
    return cur.rowcount


def release_siblings(conn: Conn, ids: list[Any], runner: str, error: str) -> list[dict[str, Any]]:
    """The leader failed: its merged jobs back to pending, each to be retried on its own."""
    if not ids:
        return []
    return conn.execute(
        "UPDATE content_refresh_jobs SET status = 'pending', error_message = %s, "
        "metadata = metadata - 'merged_into' WHERE id = ANY(%s) AND status = ANY(%s) "
        "AND metadata->>'runner' = %s RETURNING id, job_type",
        (error[:4000], ids, allowed_from(Event.RELEASE), runner),
    ).fetchall()


def release_expired(conn: Conn) -> list[dict[str, Any]]:
    """Running pipeline jobs whose lease expired (a killed, paused or cut-off runner) back to
    pending; the caller re-sends their messages if they are gone. Any process may call it: the
    first to notice wins, the others find nothing."""
    return conn.execute(
        "UPDATE content_refresh_jobs SET status = 'pending', "
        "error_message = 'its runner stopped renewing its lease (killed, paused or cut off); "
        "retried', metadata = (metadata - 'merged_into') || jsonb_build_object("
        "'lease_expired_at', now()::text) "
        f"WHERE status = ANY(%s) AND origin = 'pipeline' AND NOT COALESCE({LEASE_LIVE}, false) "
        "RETURNING id, job_type",
        (allowed_from(Event.EXPIRE),),
    ).fetchall()


def pending_since(conn: Conn, seconds: float) -> list[dict[str, Any]]:
    """Pipeline jobs untouched and pending for at least `seconds` (candidates for a re-send),
    with how long (`age_s`)."""
    return conn.execute(
        "SELECT id, job_type, extract(epoch FROM now() - updated_at)::float8 AS age_s "
        "FROM content_refresh_jobs WHERE COALESCE(status, 'pending') = 'pending' "
        "AND origin = 'pipeline' AND updated_at < now() - make_interval(secs => %s) "
        "ORDER BY created_at",
        (seconds,),
    ).fetchall()


def note_resent(conn: Conn, job_id: UUID | str) -> None:
    """A pending job's message was sent again (its `updated_at` moves: the next re-send waits)."""
    conn.execute(
        "UPDATE content_refresh_jobs SET metadata = metadata || jsonb_build_object("
        "'resent', COALESCE((metadata->>'resent')::int, 0) + 1, 'resent_at', now()::text) "
        "WHERE id = %s AND COALESCE(status, 'pending') = 'pending'",
        (job_id,),
    )


def update_metadata(
    conn: Conn,
    job_id: UUID | str,
    metadata: dict[str, Any],
    runner: str | None = None,
    lease_s: float | None = None,
) -> bool:
    """Merge into the job's metadata; with `runner`, only while that runner holds the job (and,
    with `lease_s`, renewing its lease: the crawl's progress writes)."""
    guard = " AND status = 'running' AND metadata->>'runner' = %(runner)s" if runner else ""
    lease = f" || jsonb_build_object({_LEASE})" if runner and lease_s else ""
    cur = conn.execute(
        f"UPDATE content_refresh_jobs SET metadata = metadata || %(meta)s{lease} "
        f"WHERE id = %(id)s{guard}",
        {"meta": Jsonb(metadata), "id": job_id, "runner": runner, "lease": lease_s},
    )
    return cur.rowcount > 0


def complete(
    conn: Conn,
    job_id: UUID | str,
    runner: str,
    metadata: dict[str, Any] | None = None,
) -> bool:
    """running -> completed, by the runner that started it. False (nothing written) if the job
    is not running under `runner`: it failed, or another runner took it over."""
    cur = conn.execute(
        "UPDATE content_refresh_jobs SET status = 'completed', completed_at = NOW(), "
        "error_message = NULL, metadata = metadata || %s "
        "WHERE id = %s AND status = ANY(%s) AND metadata->>'runner' = %s",
        (Jsonb(metadata or {}), job_id, allowed_from(Event.COMPLETE), runner),
    )
    return cur.rowcount > 0


def fail(
    conn: Conn,
    job_id: UUID | str,
    error: str,
    metadata: dict[str, Any] | None = None,
    *,
    runner: str | None = None,
    unless_leased: bool = False,
) -> bool:
    """pending | running -> failed with the reason. With `runner`, only while that runner holds
    it; without (a dead-lettered message, a send that failed), from any unfinished state, or
    with `unless_leased` not while a runner holds a live lease on it (a dead-lettered copy of a
    message must not fail the run another message started). Never overwrites completed."""
    guard = " AND metadata->>'runner' = %s" if runner else ""
    if unless_leased:
        guard += f" AND (status IS DISTINCT FROM 'running' OR NOT COALESCE({LEASE_LIVE}, false))"
    cur = conn.execute(
        "UPDATE content_refresh_jobs SET status = 'failed', completed_at = NOW(), "
        f"error_message = %s, metadata = metadata || %s WHERE id = %s "
        f"AND COALESCE(status, 'pending') = ANY(%s){guard}",
        (
            error[:4000],
            Jsonb(metadata or {}),
            job_id,
            allowed_from(Event.FAIL),
            *([runner] if runner else []),
        ),
    )
    return cur.rowcount > 0


def release(
    conn: Conn,
    job_id: UUID | str,
    runner: str,
    error: str,
    metadata: dict[str, Any] | None = None,
) -> bool:
    """running -> pending after a transient failure (its message is retried); the reason stays
    in `error_message` until an attempt succeeds."""
    cur = conn.execute(
        "UPDATE content_refresh_jobs SET status = 'pending', error_message = %s, "
        "metadata = metadata || %s WHERE id = %s AND status = ANY(%s) AND metadata->>'runner' = %s",
        (error[:4000], Jsonb(metadata or {}), job_id, allowed_from(Event.RELEASE), runner),
    )
    return cur.rowcount > 0


def reset_for_retry(conn: Conn, job_id: UUID | str) -> dict[str, Any] | None:
    """A failed job back to pending (the caller re-sends its message), with a new retry
    budget. None if it is not failed."""
    return conn.execute(
        "UPDATE content_refresh_jobs SET status = 'pending', started_at = NULL, completed_at = "
        "NULL, "
        "error_message = NULL, metadata = (metadata - 'dead_lettered') || jsonb_build_object("
        "'attempts_at_reset', COALESCE((metadata->>'attempts')::int, 0)) "
        "WHERE id = %s AND status = ANY(%s) RETURNING *",
        (job_id, allowed_from(Event.RESET)),
    ).fetchone()


class RetryRefused(Exception):
    """A retry that cannot be done: `status` is the job's state (None: no such job)."""

    def __init__(self, job_id: str, status: str | None) -> None:
        self.job_id, self.status = job_id, status
        super().__init__(
            f"no job {job_id}"
            if status is None
            else f"job {job_id} is {status}, not failed; only failed jobs are retried"
        )


class RetryNotSent(Exception):
    pass


Sender = Callable[[Any, str], Any]


def retry(conn: Conn, job_id: UUID | str, send: Sender) -> dict[str, Any]:
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


def _commit(conn: Conn) -> None:
    if not conn.autocommit:
        conn.commit()


def _value(row: Any, key: str) -> Any:
    return row[key] if isinstance(row, dict) else row[0]


def dumps(metadata: dict[str, Any]) -> str:
    return json.dumps(metadata, default=str, sort_keys=True)

"""Run one content_refresh_jobs row: start -> work -> complete, or fail / retry by error kind.

Messages carry only the job id. A job already completed or failed (a message delivered twice)
is a no-op; the work itself is idempotent (upserts, replace-in-one-transaction), so a job that a
killed worker left `running` is taken over on redelivery. The lifecycle (states, guards, the
runner token that alone may complete the job, attempts) is `db.jobs`; this is its runner.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import dramatiq
import psycopg

from db import jobs
from db.connection import get_pool, transaction
from core.config import Settings
from workers.errors import PermanentError
from workers.outcomes import describe, is_transient

log = logging.getLogger(__name__)

Job = dict[str, Any]
Stats = dict[str, Any]
# A step's work: the job's row and the settings its actor read for this message.
Work = Callable[[psycopg.Connection | None, Job, Settings], Stats | None]


def run_job(job_id: str, job_types: tuple[str, ...], work: Work, settings: Settings, *,
            needs_conn: bool = True) -> None:
    started = time.perf_counter()
    with transaction() as conn:
        owner = _claimed_by(conn, job_id)
        if owner:
            # Another running job took this one along (embed jobs share requests); it completes
            # this job, or puts it back to pending and re-sends its message if it fails.
            log.info("job %s is being done by job %s; nothing to do", job_id, owner)
            return
        job = jobs.start(conn, job_id)
        if job is None:
            exists = conn.execute("SELECT status FROM content_refresh_jobs WHERE id = %s",
                                  (job_id,)).fetchone()
    if job is None:
        if exists is None:
            raise PermanentError(f"job {job_id} does not exist")
        log.info("job %s is already %s; nothing to do", job_id, exists["status"])
        return
    runner = job["runner"]
    try:
        if job.get("origin") == "tenant":  # docs/security.md: a tenant wrote or changed this row
            raise PermanentError(f"job {job_id} was created or changed by a tenant; the pipeline "
                                 "does not run such jobs")
        if job["job_type"] not in job_types:
            raise PermanentError(f"job {job_id} is a {job['job_type']!r} job, not "
                                 f"{' or '.join(job_types)}")
        if needs_conn:
            with get_pool().connection() as conn:
                stats = work(conn, job, settings) or {}
        else:
            stats = work(None, job, settings) or {}
        with transaction() as conn:
            done = jobs.complete(conn, job_id, runner, {**stats, "duration_seconds": _since(started)})
        if not done:
            log.warning("job %s was no longer held by this runner; its outcome was not recorded",
                        job_id)
    except BaseException as exc:  # noqa: BLE001 - time limits and shutdowns are BaseException
        _handle_failure(job_id, runner, exc, started)
        raise AssertionError("unreachable")  # _handle_failure always raises


def _claimed_by(conn: psycopg.Connection, job_id: str) -> str | None:
    row = conn.execute(
        "SELECT o.id FROM content_refresh_jobs j JOIN content_refresh_jobs o "
        "ON o.id::text = j.metadata->>'merged_into' "
        "WHERE j.id = %s AND j.status = 'running' AND o.status = 'running' AND o.id <> j.id",
        (job_id,)).fetchone()
    return str(row["id"]) if row else None


def _handle_failure(job_id: str, runner: str, exc: BaseException, started: float) -> None:
    message = describe(exc)
    if not is_transient(exc):
        log.error("job %s failed permanently: %s", job_id, message)
        _record(job_id, runner, jobs.Event.FAIL, message, started)
        if isinstance(exc, PermanentError):
            raise exc
        raise PermanentError(message) from exc
    log.warning("job %s hit a transient error, will retry: %s", job_id, message)
    _record(job_id, runner, jobs.Event.RELEASE, message, started)
    retry_after = getattr(exc, "retry_after", None)
    # Retry: Dramatiq backs off exponentially (delay None) but never sooner than a server's
    # Retry-After; it logs no traceback for it (we logged the cause above).
    delay = int(retry_after * 1000) if retry_after else None
    raise dramatiq.Retry(message, delay=delay) from exc


def _record(job_id: str, runner: str, event: jobs.Event, message: str, started: float) -> None:
    meta = {"last_error": message[:1000], "duration_seconds": _since(started)}
    try:
        with transaction() as conn:
            if event == jobs.Event.FAIL:
                jobs.fail(conn, job_id, message, meta, runner=runner)
            else:
                jobs.release(conn, job_id, runner, message, meta)
    except Exception:
        log.warning("could not record the outcome of job %s", job_id, exc_info=True)


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 3)

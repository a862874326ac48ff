"""Run one content_refresh_jobs row: start -> work -> complete, or fail / retry by error kind.

Messages carry only the job id. A job already completed or failed (a message delivered twice)
is a no-op, and so is one running under a live lease (its runner is alive: a duplicate message,
or a sibling merged into an embed job). While the work runs, a thread renews the job's lease
every third of `OMNI_JOB_LEASE_S` (one renewer thread per process, `LeaseRenewer`); a job whose
lease expired (a killed, paused or cut-off
worker) is taken over by its redelivered message or released by the sweeper
(`workers/sweeper.py`), and the work itself is idempotent (upserts, replace-in-one-transaction).
A runner that lost its job writes nothing more (`db.jobs.held` in its write transactions raises
`LeaseLost`) and records no outcome. The lifecycle is `db.jobs`; this is its runner.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import dramatiq
import psycopg

from core.config import Settings
from db import jobs
from db.connection import Conn, Dedicated, get_pool, transaction
from db.job_kinds import kind_of, max_attempts
from workers.errors import PermanentError
from workers.outcomes import describe, is_transient

log = logging.getLogger(__name__)

Job = dict[str, Any]
Stats = dict[str, Any]
# A step's work: the job's row and the settings its actor read for this message.
Work = Callable[[Conn, Job, Settings], Stats | None]
# A work run with `needs_conn=False` (the crawl: hours in a child process) is given no connection.
ConnlessWork = Callable[[Conn | None, Job, Settings], Stats | None]


class LeaseRenewer:
    """One thread per process renews the lease of every job its runners hold, each every third
    of its lease, on a connection of its own (so it never waits behind the work's pooled ones).
    `hold(...)` registers a job for as long as its `with` lasts; the event it yields is set once
    the job is no longer this runner's."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[str, float, threading.Event, list[float]]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._conn = Dedicated()

    @contextmanager
    def hold(self, job_id: str, runner: str, lease_s: float) -> Iterator[threading.Event]:
        lost = threading.Event()
        with self._lock:
            self._held[job_id] = (runner, lease_s, lost, [time.monotonic() + lease_s / 3])
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()
                self._conn = Dedicated()
                self._thread = threading.Thread(
                    target=self._loop, name="lease-renewer", daemon=True
                )
                self._thread.start()
        self._wake.set()
        try:
            yield lost
        finally:
            with self._lock:
                self._held.pop(job_id, None)

    def _loop(self) -> None:
        while True:
            with self._lock:
                due = [
                    (job_id, held)
                    for job_id, held in self._held.items()
                    if held[3][0] <= time.monotonic()
                ]
                nearest = min((h[3][0] for h in self._held.values()), default=None)
            for job_id, (runner, lease_s, lost, next_at) in due:
                next_at[0] = time.monotonic() + lease_s / 3
                try:
                    with self._conn.use() as conn:
                        held = jobs.renew(conn, job_id, runner, lease_s)
                except Exception as exc:  # noqa: BLE001 - Postgres away: the lease runs down
                    log.warning("could not renew the lease of job %s: %s", job_id, exc)
                    continue
                if not held:
                    log.warning("job %s is no longer held by this runner", job_id)
                    lost.set()
            wait = 1.0 if nearest is None else max(0.05, nearest - time.monotonic())
            self._wake.wait(wait)
            self._wake.clear()


_leases = LeaseRenewer()


def run_job(
    job_id: str,
    job_types: tuple[str, ...],
    work: Work,
    settings: Settings,
    *,
    needs_conn: bool = True,
) -> None:
    started = time.perf_counter()
    budget = max_attempts(kind_of(job_types[0]), settings)
    with transaction() as conn:
        job = jobs.start(conn, job_id, settings.job_lease_s, max_attempts=budget)
        if job is None:
            # its retry budget spent by earlier attempts (this message may be a re-sent one)
            gave_up = jobs.give_up(conn, job_id, budget)
            exists = conn.execute(
                "SELECT status, metadata->>'merged_into' AS merged_into "
                "FROM content_refresh_jobs WHERE id = %s",
                (job_id,),
            ).fetchone()
    if job is None:
        if exists is None:
            raise PermanentError(f"job {job_id} does not exist")
        if gave_up is not None:
            log.error("job %s is out of attempts: %s", job_id, gave_up["error_message"])
            raise PermanentError(gave_up["error_message"])
        # running: its runner (or, merged, the embed job it joined) holds a live lease and
        # completes it; if that runner dies, the lease expires and the sweeper re-sends it.
        by = f" by job {exists['merged_into']}" if exists["merged_into"] else ""
        log.info("job %s is already %s%s; nothing to do", job_id, exists["status"], by)
        return
    runner = job["runner"]
    last = jobs.attempts_used(job) >= budget
    try:
        with _leases.hold(job_id, runner, settings.job_lease_s):
            _work(job, job_types, work, settings, needs_conn, started, last)
    except jobs.LeaseLost as exc:
        log.warning("job %s: %s; it is another runner's now, nothing more is written", job_id, exc)


def _work(
    job: Job,
    job_types: tuple[str, ...],
    work: Work,
    settings: Settings,
    needs_conn: bool,
    started: float,
    last_attempt: bool,
) -> None:
    job_id, runner = str(job["id"]), job["runner"]
    try:
        if job.get("origin") == "tenant":  # docs/security.md: a tenant wrote or changed this row
            raise PermanentError(
                f"job {job_id} was created or changed by a tenant; the pipeline "
                "does not run such jobs"
            )
        if job["job_type"] not in job_types:
            raise PermanentError(
                f"job {job_id} is a {job['job_type']!r} job, not {' or '.join(job_types)}"
            )
        if needs_conn:
            with get_pool().connection() as conn:
                stats = work(conn, job, settings) or {}
        else:
            stats = cast(ConnlessWork, work)(None, job, settings) or {}
        with transaction() as conn:
            done = jobs.complete(
                conn, job_id, runner, {**stats, "duration_seconds": _since(started)}
            )
        if not done:
            log.warning(
                "job %s was no longer held by this runner; its outcome was not recorded", job_id
            )
    except jobs.LeaseLost:
        raise
    except BaseException as exc:
        _handle_failure(job, exc, started, last_attempt)
        raise AssertionError("unreachable") from exc  # _handle_failure always raises


def _handle_failure(job: Job, exc: BaseException, started: float, last_attempt: bool) -> None:
    job_id, runner = str(job["id"]), job["runner"]
    message = describe(exc)
    if is_transient(exc) and last_attempt:
        # the retry budget is the row's: a message re-sent or redelivered does not renew it
        message = f"{message} (gave up after {jobs.attempts_used(job)} attempts)"
        log.error("job %s failed: %s", job_id, message)
        _record(job_id, runner, jobs.Event.FAIL, message, started, dead_lettered=True)
        raise PermanentError(message) from exc
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


# An outcome that could not be written because the database is away (the error being recorded
# is often that outage) is written again for about half a minute, the length of a Postgres
# restart; after that the job's lease expires and the sweeper records "lease expired".
RECORD_RETRY_DELAYS_S = (0.5, 1, 2, 4, 8, 8, 8)


def _record(
    job_id: str,
    runner: str,
    event: jobs.Event,
    message: str,
    started: float,
    delays: tuple[float, ...] = RECORD_RETRY_DELAYS_S,
    dead_lettered: bool = False,
) -> bool:
    """Write the attempt's outcome; False if it could not be written (logged)."""
    meta: dict[str, Any] = {"last_error": message[:1000], "duration_seconds": _since(started)}
    if dead_lettered:
        meta["dead_lettered"] = True
    for delay in (*delays, None):
        try:
            with transaction() as conn:
                if event == jobs.Event.FAIL:
                    jobs.fail(conn, job_id, message, meta, runner=runner)
                else:
                    jobs.release(conn, job_id, runner, message, meta)
            return True
        except psycopg.OperationalError:
            if delay is None:
                break
            time.sleep(delay)
        except Exception:
            break
    log.warning("could not record the outcome of job %s", job_id, exc_info=True)
    return False


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 3)

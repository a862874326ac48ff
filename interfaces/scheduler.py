"""The scheduler: finds domains due for a crawl and stale content, and queues the jobs.

Timing is pure (`core/frequency.py`); the database pass (`run_once`) is the I/O edge.

Exactly-once across schedulers: every decision for a domain is taken inside a transaction
holding `pg_try_advisory_xact_lock(<scheduler>, hashtext(domain_id))` and re-reads the domain
under the lock, so two schedulers (one per machine) never queue the same domain twice: the loser
either fails to take the lock or, once the winner has committed, sees its pending job. The
message is sent only after the job row has committed; a job whose send failed is re-sent on the
next pass (its metadata lacks `message_id`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from db import jobs
from db.connection import connect
from interfaces.catalog_schedule import queue_catalog_syncs
from interfaces.housekeeping import housekeeping
from core.config import get_settings
from core.frequency import is_due
from interfaces.index_schedule import IndexMaintenance

log = logging.getLogger(__name__)

REFRESH_JOB_TYPE = jobs.JobType.FULL
# Namespace of the scheduler's advisory locks (the first key of the two-int form).
LOCK_NAMESPACE = 0x0_5C4ED  # "SCHED"
# A job committed but not yet sent is only re-sent after this grace period (its sender may
# still be about to send it).
RESEND_AFTER = timedelta(minutes=2)

@dataclass
class PassResult:
    crawls: list[str] = field(default_factory=list)       # domains a crawl was queued for
    refreshes: list[str] = field(default_factory=list)    # domains a stale refresh was queued for
    resent: list[str] = field(default_factory=list)       # job ids whose message was re-sent
    skipped: list[str] = field(default_factory=list)      # due, but another scheduler has it
    errors: list[str] = field(default_factory=list)       # "domain: message"
    catalog_syncs: list[str] = field(default_factory=list)  # domains a catalogue sync was queued for
    # interfaces/housekeeping.py
    cache_purged: int = 0                                   # expired customer_data_cache rows
    knowledge_syncs: list[str] = field(default_factory=list)  # domains whose curated answers changed
    privacy_jobs: list[str] = field(default_factory=list)   # privacy requests given their job

    def summary(self) -> str:
        return (f"queued {len(self.crawls)} crawl(s), {len(self.refreshes)} refresh(es); "
                f"re-sent {len(self.resent)}; skipped {len(self.skipped)}; "
                f"errors {len(self.errors)}")


_DOMAIN_STATE = """
SELECT d.id, d.domain, d.scrape_frequency, d.last_scraped_at,
       (SELECT max(j.created_at) FROM content_refresh_jobs j
         WHERE j.domain_id = d.id AND j.job_type = ANY(%(crawl_types)s)
           AND j.origin = 'pipeline') AS last_crawl_job_at,
       EXISTS (SELECT 1 FROM content_refresh_jobs j
         WHERE j.domain_id = d.id AND j.job_type = ANY(%(crawl_types)s) AND j.origin = 'pipeline'
           AND j.status = ANY(%(active)s)) AS busy
  FROM domains d
 WHERE d.active IS NOT FALSE {where}
 ORDER BY d.domain
"""


def last_attempt(row: dict[str, Any]) -> datetime | None:
    """The later of the last finished crawl and the last crawl job queued (so a failing crawl
    is retried once per period, not on every pass)."""
    moments = [m for m in (row.get("last_scraped_at"), row.get("last_crawl_job_at")) if m]
    return max(moments) if moments else None


def _domain_state(conn: psycopg.Connection, domain_id: Any = None) -> list[dict[str, Any]]:
    params = {"crawl_types": list(jobs.CRAWL_TYPES), "active": list(jobs.ACTIVE),
              "domain_id": domain_id}
    where = "" if domain_id is None else "AND d.id = %(domain_id)s"
    return conn.execute(_DOMAIN_STATE.format(where=where), params).fetchall()


def _lock(conn: psycopg.Connection, domain_id: Any) -> bool:
    row = conn.execute("SELECT pg_try_advisory_xact_lock(%s, hashtext(%s::text)) AS locked",
                       (LOCK_NAMESPACE, str(domain_id))).fetchone()
    return bool(row["locked"])


def _stale_urls(conn: psycopg.Connection, domain: str, older_than: str) -> list[str] | None:
    """URLs get_stale_content() reports for a domain; None if the function is not installed."""
    try:
        with conn.transaction():
            rows = conn.execute("SELECT * FROM get_stale_content(%s, %s::interval)",
                                (domain, older_than)).fetchall()
    except psycopg.errors.UndefinedFunction:
        return None
    return [r["url"] for r in rows if r.get("url")]


def _recent_refresh(conn: psycopg.Connection, domain_id: Any, window: str) -> bool:
    return conn.execute(
        "SELECT 1 FROM content_refresh_jobs WHERE domain_id = %s AND job_type = %s "
        "AND metadata->>'reason' = 'stale' AND created_at > now() - %s::interval LIMIT 1",
        (domain_id, REFRESH_JOB_TYPE, window),
    ).fetchone() is not None


Sender = jobs.Sender


def _default_sender(job_id: Any, job_type: str) -> Any:
    # send_job enqueues on the project's broker (workers.broker.get_broker sets it up once).
    from workers.dispatch import send_job

    return send_job(job_id, job_type)


class Scheduler:
    def __init__(self, conn: psycopg.Connection, *, stale_after: str | None = None,
                 sender: Sender | None = None, now: Callable[[], datetime] | None = None) -> None:
        """`conn` must be a non-autocommit connection owned by the scheduler."""
        self.conn = conn
        self.stale_after = stale_after or get_settings().stale_after
        self.send = sender or _default_sender
        self.now = now or (lambda: datetime.now(UTC))
        self._warned_no_stale_fn = False

    # ------------------------------------------------------------------ one pass
    def run_once(self) -> PassResult:
        result = PassResult()
        self._resend_unsent(result)
        domains = _domain_state(self.conn)
        self.conn.commit()
        for row in domains:
            try:
                self._consider(row, result)
            except Exception as exc:
                self.conn.rollback()
                log.exception("scheduler: %s failed", row["domain"])
                result.errors.append(f"{row['domain']}: {exc}")
        queue_catalog_syncs(self, result)  # shop APIs (docs/catalog.md)
        housekeeping(self, result)  # cache, curated answers, privacy requests (docs/privacy.md)
        return result

    def _consider(self, row: dict[str, Any], result: PassResult) -> None:
        if row["busy"]:
            return
        now = self.now()
        if is_due(row["scrape_frequency"], last_attempt(row), now):
            job_id = self._queue(row, jobs.JobType.CRAWL, {"trigger": "scheduler", "reason": "due"},
                                 lambda fresh: is_due(fresh["scrape_frequency"], last_attempt(fresh), now))
            (result.crawls if job_id else result.skipped).append(row["domain"])
            return
        urls = _stale_urls(self.conn, row["domain"], self.stale_after)
        self.conn.commit()
        if urls is None:
            if not self._warned_no_stale_fn:
                log.warning("scheduler: get_stale_content() is not installed; skipping stale content")
                self._warned_no_stale_fn = True
            return
        if not urls or _recent_refresh(self.conn, row["id"], self.stale_after):
            self.conn.commit()
            return
        self.conn.commit()
        metadata = {"trigger": "scheduler", "reason": "stale", "urls": urls[:1000],
                    "stale_count": len(urls)}
        job_id = self._queue(row, REFRESH_JOB_TYPE, metadata,
                             lambda fresh: not _recent_refresh(self.conn, fresh["id"], self.stale_after))
        (result.refreshes if job_id else result.skipped).append(row["domain"])

    def _queue(self, row: dict[str, Any], job_type: str, metadata: dict[str, Any],
               still_wanted: Callable[[dict[str, Any]], bool]) -> Any:
        """Create the job under the domain's advisory lock, commit, then send its message."""
        conn = self.conn
        try:
            if not _lock(conn, row["id"]):
                conn.rollback()
                return None
            fresh = _domain_state(conn, row["id"])
            if not fresh or fresh[0]["busy"] or not still_wanted(fresh[0]):
                conn.rollback()
                return None
            job_id = jobs.create(conn, row["id"], job_type, metadata)
            conn.commit()  # also releases the lock: the job row is visible to the other schedulers
        except Exception:
            conn.rollback()
            raise
        self._send(job_id, job_type)
        log.info("scheduler: queued %s job %s for %s (%s)", job_type, job_id, row["domain"],
                 metadata.get("reason"))
        return job_id

    def _send(self, job_id: Any, job_type: str) -> None:
        message = self.send(job_id, job_type)
        message_id = getattr(message, "message_id", None) or "sent"
        jobs.update_metadata(self.conn, job_id, {"message_id": message_id})
        self.conn.commit()

    def _resend_unsent(self, result: PassResult) -> None:
        """Scheduler jobs that committed but whose message was never sent (the sender died)."""
        rows = self.conn.execute(
            "SELECT id, domain_id, job_type FROM content_refresh_jobs "
            # origin: only the pipeline can write it (0040); metadata and created_at are
            # tenant-writable and must not make the scheduler send a forged job.
            "WHERE status = 'pending' AND origin = 'pipeline' AND metadata->>'trigger' = 'scheduler' "
            "AND NOT metadata ? 'message_id' AND created_at < now() - %s::interval",
            (f"{int(RESEND_AFTER.total_seconds())} seconds",),
        ).fetchall()
        self.conn.commit()
        for job in rows:
            if not _lock(self.conn, job["domain_id"]):
                self.conn.rollback()
                continue
            still = self.conn.execute(
                "SELECT 1 FROM content_refresh_jobs WHERE id = %s AND status = 'pending' "
                "AND origin = 'pipeline' AND NOT metadata ? 'message_id'", (job["id"],)).fetchone()
            if still:
                self._send(job["id"], job["job_type"])  # commits, releasing the lock
                result.resent.append(str(job["id"]))
            else:
                self.conn.rollback()


def run_forever(interval: float, stop: threading.Event | None = None,
                on_pass: Callable[[PassResult], None] | None = None) -> None:
    """Pass after pass until `stop` is set; a failed pass is logged and retried next interval.
    The domains' vector indexes are maintained beside it, in a thread of their own
    (interfaces/index_schedule.py), stopped with it."""
    stop = stop or threading.Event()
    maintenance = IndexMaintenance(interval, get_settings().search_domain_index_rows).start()
    try:
        _passes(interval, stop, on_pass)
    finally:
        maintenance.stop()


def _passes(interval: float, stop: threading.Event,
            on_pass: Callable[[PassResult], None] | None) -> None:
    conn: psycopg.Connection | None = None
    scheduler: Scheduler | None = None
    while not stop.is_set():
        try:
            if conn is None or conn.closed or scheduler is None:
                conn = connect(autocommit=False)
                scheduler = Scheduler(conn)
            result = scheduler.run_once()
            if on_pass:
                on_pass(result)
        except Exception:
            log.exception("scheduler pass failed; retrying in %.0fs", interval)
            if conn is not None:
                conn.close()
            conn = None
        stop.wait(interval)
    if conn is not None:
        conn.close()

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
from datetime import UTC, datetime
from typing import Any

import psycopg

from core.config import get_settings
from db import jobs
from db.connection import Conn, connect, one
from db.domain_schedule import CRAWLS, domain_states, is_due_now
from interfaces.catalog_schedule import queue_catalog_syncs
from interfaces.housekeeping import housekeeping
from interfaces.index_schedule import IndexMaintenance

log = logging.getLogger(__name__)

REFRESH_JOB_TYPE = jobs.JobType.FULL
# Namespace of the scheduler's advisory locks (the first key of the two-int form).
LOCK_NAMESPACE = 0x0_5C4ED  # "SCHED"


@dataclass
class PassResult:
    crawls: list[str] = field(default_factory=list)  # domains a crawl was queued for
    refreshes: list[str] = field(default_factory=list)  # domains a stale refresh was queued for
    resent: list[str] = field(default_factory=list)  # job ids whose message was re-sent
    released: list[str] = field(default_factory=list)  # jobs whose lease had expired
    skipped: list[str] = field(default_factory=list)  # due, but another scheduler has it
    errors: list[str] = field(default_factory=list)  # "domain: message"
    catalog_syncs: list[str] = field(
        default_factory=list
    )  # domains a catalogue sync was queued for
    # interfaces/housekeeping.py
    cache_purged: int = 0  # expired customer_data_cache rows
    knowledge_syncs: list[str] = field(
        default_factory=list
    )  # domains whose curated answers changed
    privacy_jobs: list[str] = field(default_factory=list)  # privacy requests given their job

    def summary(self) -> str:
        return (
            f"queued {len(self.crawls)} crawl(s), {len(self.refreshes)} refresh(es); "
            f"re-sent {len(self.resent)}, released {len(self.released)}; skipped "
            f"{len(self.skipped)}; "
            f"errors {len(self.errors)}"
        )


def _domain_state(conn: Conn, domain_id: Any = None) -> list[dict[str, Any]]:
    return domain_states(conn, CRAWLS, domain_id)


def _lock(conn: Conn, domain_id: Any) -> bool:
    row = one(
        conn.execute(
            "SELECT pg_try_advisory_xact_lock(%s, hashtext(%s::text)) AS locked",
            (LOCK_NAMESPACE, str(domain_id)),
        )
    )
    return bool(row["locked"])


def _stale_urls(conn: Conn, domain: str, older_than: str) -> list[str] | None:
    """URLs get_stale_content() reports for a domain; None if the function is not installed."""
    try:
        with conn.transaction():
            rows = conn.execute(
                "SELECT * FROM get_stale_content(%s, %s::interval)", (domain, older_than)
            ).fetchall()
    except psycopg.errors.UndefinedFunction:
        return None
    return [r["url"] for r in rows if r.get("url")]


def _recent_refresh(conn: Conn, domain_id: Any, window: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM content_refresh_jobs WHERE domain_id = %s AND job_type = %s "
            "AND metadata->>'reason' = 'stale' AND created_at > now() - %s::interval LIMIT 1",
            (domain_id, REFRESH_JOB_TYPE, window),
        ).fetchone()
        is not None
    )


Sender = jobs.Sender


def _default_sender(job_id: Any, job_type: str) -> Any:
    # Dramatiq's Redis broker loads only when a message is sent (the CLI imports this module).
    from workers.dispatch import send_job  # noqa: PLC0415 - see the comment above

    return send_job(job_id, job_type)


def _default_sweep(conn: Conn, send: Sender) -> Any:
    # As above: the broker and the sweeper load on the first pass.
    from workers.broker import get_broker  # noqa: PLC0415 - see the comment above
    from workers.sweeper import sweep  # noqa: PLC0415 - see the comment above

    return sweep(conn, get_broker().client, send, get_settings())


class Scheduler:
    def __init__(
        self,
        conn: Conn,
        *,
        stale_after: str | None = None,
        sender: Sender | None = None,
        now: Callable[[], datetime] | None = None,
        sweeper: Callable[[Conn, Sender], Any] | None = None,
    ) -> None:
        """`conn` must be a non-autocommit connection owned by the scheduler."""
        self.conn = conn
        self.stale_after = stale_after or get_settings().stale_after
        self.send = sender or _default_sender
        self.sweeper = sweeper or _default_sweep
        self.now = now or (lambda: datetime.now(UTC))
        self._warned_no_stale_fn = False

    # ------------------------------------------------------------------ one pass
    def run_once(self) -> PassResult:
        result = PassResult()
        self._sweep(result)
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
        if is_due_now(row, now):
            job_id = self.queue(
                row,
                jobs.JobType.CRAWL,
                {"trigger": "scheduler", "reason": "due"},
                lambda fresh: is_due_now(fresh, now),
            )
            (result.crawls if job_id else result.skipped).append(row["domain"])
            return
        urls = _stale_urls(self.conn, row["domain"], self.stale_after)
        self.conn.commit()
        if urls is None:
            if not self._warned_no_stale_fn:
                log.warning(
                    "scheduler: get_stale_content() is not installed; skipping stale content"
                )
                self._warned_no_stale_fn = True
            return
        if not urls or _recent_refresh(self.conn, row["id"], self.stale_after):
            self.conn.commit()
            return
        self.conn.commit()
        metadata = {
            "trigger": "scheduler",
            "reason": "stale",
            "urls": urls[:1000],
            "stale_count": len(urls),
        }
        job_id = self.queue(
            row,
            REFRESH_JOB_TYPE,
            metadata,
            lambda fresh: not _recent_refresh(self.conn, fresh["id"], self.stale_after),
        )
        (result.refreshes if job_id else result.skipped).append(row["domain"])

    def queue(
        self,
        row: dict[str, Any],
        job_type: str,
        metadata: dict[str, Any],
        still_wanted: Callable[[dict[str, Any]], bool],
        state: Callable[[Conn, Any], list[dict[str, Any]]] = _domain_state,
    ) -> Any:
        """Create the job under the domain's advisory lock, commit, then send its message.
        `state(conn, domain_id)` re-reads the domain under the lock (its `busy` and what
        `still_wanted` decides on): the crawl's by default, the catalogue's for syncs."""
        conn = self.conn
        try:
            if not _lock(conn, row["id"]):
                conn.rollback()
                return None
            fresh = state(conn, row["id"])
            if not fresh or fresh[0]["busy"] or not still_wanted(fresh[0]):
                conn.rollback()
                return None
            job_id = jobs.create(conn, row["id"], job_type, metadata)
            conn.commit()  # also releases the lock: the job row is visible to the other schedulers
        except Exception:
            conn.rollback()
            raise
        self._send(job_id, job_type)
        log.info(
            "scheduler: queued %s job %s for %s (%s)",
            job_type,
            job_id,
            row["domain"],
            metadata.get("reason"),
        )
        return job_id

    def _send(self, job_id: Any, job_type: str) -> None:
        # If this fails (Redis away), the row is pending with no message: the sweeper sends it.
        self.send(job_id, job_type)

    def _sweep(self, result: PassResult) -> None:
        """Expired leases released, pending jobs whose message is gone re-sent."""
        try:
            swept = self.sweeper(self.conn, self.send)
        except Exception as exc:  # noqa: BLE001 - the pass goes on; the next one sweeps again
            self.conn.rollback()
            log.warning("scheduler: the sweep failed: %s", exc)
            result.errors.append(f"sweep: {exc}")
            return
        result.resent.extend(swept.resent)
        result.released.extend(swept.released)


def run_forever(
    interval: float,
    stop: threading.Event | None = None,
    on_pass: Callable[[PassResult], None] | None = None,
) -> None:
    """Pass after pass until `stop` is set; a failed pass is logged and retried next interval.
    The domains' vector indexes are maintained beside it, in a thread of their own
    (interfaces/index_schedule.py), stopped with it."""
    stop = stop or threading.Event()
    maintenance = IndexMaintenance(interval, get_settings().search_domain_index_rows).start()
    try:
        _passes(interval, stop, on_pass)
    finally:
        maintenance.stop()


def _passes(
    interval: float, stop: threading.Event, on_pass: Callable[[PassResult], None] | None
) -> None:
    conn: Conn | None = None
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

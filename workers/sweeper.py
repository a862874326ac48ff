"""The sweeper: a committed job always reaches a worker, a running job always ends.

`sweep` runs every `OMNI_JOB_SWEEP_INTERVAL_S` in each worker process (the `WorkerStatus`
middleware's beat thread) and on each scheduler pass; whoever comes first does it (one at a
time: an advisory lock), the others find nothing to do.

1. Running pipeline jobs whose lease expired (a killed, paused or cut-off runner, a Postgres
   restart that dropped its connection, merged embed jobs whose leader died) go back to
   pending (`db.jobs.release_expired`).
2. Pending pipeline jobs that no message in Redis carries are sent again: a job row committed
   while Redis was down, a broker restarted with an empty queue, a crash between commit and
   send, a retry Dramatiq could not schedule while Redis was down, a message acknowledged as
   "being done by" a run that died. A job counts as carried while a message for it waits or is
   delayed in a queue, or is held by a worker (fetched, not acknowledged: a dead worker's come
   back by the broker's maintenance) - but a held one only for `held_grace_s` (the longest
   retry back-off plus two heartbeats): a message a live worker dropped from memory is
   re-sent after that.

Re-sending is idempotent: a job runs once in effect (`db.jobs.start` refuses a job running
under a live lease, a completed one is a no-op), and a re-sent job is not sent again before it
has been pending `OMNI_JOB_RESEND_AFTER_S` more.

3. Embedding checkpoints older than a day (workers/embed_job.py) are dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.config import Settings
from db import jobs
from db.connection import Conn, one
from db.job_kinds import QUEUES
from workers.queues import LiveMessages, live_messages

log = logging.getLogger(__name__)

SWEEP_LOCK = 0x5_3EE9  # "SWEEP": the advisory lock one sweeper at a time holds
CHECKPOINT_TTL = "1 day"
Sender = Callable[[Any, str], Any]


@dataclass
class SweepResult:
    released: list[str] = field(default_factory=list)  # expired leases, back to pending
    resent: list[str] = field(default_factory=list)  # pending jobs whose message was gone
    skipped: bool = False  # another sweeper held the lock

    def __bool__(self) -> bool:
        return bool(self.released or self.resent)


def held_grace_s(settings: Settings) -> float:
    return settings.worker_max_backoff_ms / 1000 + 2 * settings.broker_heartbeat_timeout_ms / 1000


def orphan_reason(
    job_id: Any,
    status: str | None,
    lease_live: bool,
    idle_s: float,
    live: LiveMessages | None,
    settings: Settings,
) -> str | None:
    """Why a job will not progress by itself until the sweeper acts (None: it is fine): the
    one rule the sweeper acts on and the dashboard and `omni jobs` show."""
    status = status or "pending"
    if status == "running" and not lease_live:
        return "lease expired"
    if status != "pending" or idle_s < settings.job_resend_after_s:
        return None
    if live is None:
        return "message unknown (Redis unreachable)"
    job_id = str(job_id)
    if job_id in live.queued or (job_id in live.held and idle_s < held_grace_s(settings)):
        return None
    return "no message"


def flag_jobs(rows: list[dict[str, Any]], client: Any, settings: Settings) -> None:
    """Set `flag` on each job row (with `health_columns`): its orphan reason, or None."""
    try:
        live: LiveMessages | None = live_messages(client, QUEUES) if rows else None
    except Exception:  # noqa: BLE001 - Redis away: what the flag then says
        live = None
    for row in rows:
        row["flag"] = orphan_reason(
            row["id"],
            row["status"],
            row.get("lease_live", False),
            row.get("idle_s") or 0.0,
            live,
            settings,
        )


def sweep(conn: Conn, client: Any, send: Sender, settings: Settings) -> SweepResult:
    """One pass. `conn` is a non-autocommit connection the caller owns; `client` the broker's
    Redis client; `send(job_id, job_type)` sends a message."""
    result = SweepResult()
    got = one(conn.execute("SELECT pg_try_advisory_xact_lock(%s) AS got", (SWEEP_LOCK,)))
    if not got["got"]:
        conn.rollback()
        result.skipped = True
        return result
    try:
        released = jobs.release_expired(conn)
        # embedding checkpoints no run came back for (a job failed for good, say)
        conn.execute(
            "DELETE FROM embedding_checkpoints WHERE created_at < now() - %s::interval",
            (CHECKPOINT_TTL,),
        )
        conn.commit()  # the lock goes with it; the sends below are idempotent
    except BaseException:
        conn.rollback()
        raise
    result.released = [str(r["id"]) for r in released]
    for row in released:
        log.warning("job %s: its lease expired; back to pending", row["id"])
    candidates = {str(r["id"]): r for r in jobs.pending_since(conn, settings.job_resend_after_s)}
    # just released: their message may be gone already (acknowledged as merged, say)
    candidates.update(
        {str(r["id"]): {**r, "age_s": float(settings.job_resend_after_s)} for r in released}
    )
    conn.commit()
    if not candidates:
        return result
    live = live_messages(client, QUEUES)
    for job_id, row in candidates.items():
        if not orphan_reason(job_id, "pending", False, row["age_s"], live, settings):
            continue
        send(job_id, row["job_type"])
        jobs.note_resent(conn, job_id)
        conn.commit()
        result.resent.append(job_id)
        log.warning("job %s was pending with no message; its message was sent again", job_id)
    return result

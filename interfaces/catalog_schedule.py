"""Catalogue syncs are scheduled like crawls: a domain with an active catalogue source is due
when its scrape frequency has passed since its last sync (or last sync job, so a failing sync
is retried once per period, not on every pass). One `catalog` job per domain covers all its
sources; a domain with one pending or running is skipped. Due or busy is
`db/domain_schedule.py`'s (pipeline jobs only)."""

from __future__ import annotations

from typing import Any

from db import jobs
from db.connection import Conn
from db.domain_schedule import CATALOG_SYNCS, domain_states, is_due_now


def catalog_state(conn: Conn, domain_id: Any = None) -> list[dict[str, Any]]:
    return domain_states(conn, CATALOG_SYNCS, domain_id)


def queue_catalog_syncs(scheduler: Any, result: Any) -> None:
    """One scheduler pass over the catalogue sources (`Scheduler.run_once` calls it)."""
    conn = scheduler.conn
    rows = catalog_state(conn)
    conn.commit()
    now = scheduler.now()
    for row in rows:
        if not is_due_now(row, now):
            continue
        try:
            job_id = scheduler.queue(
                row,
                jobs.JobType.CATALOG,
                {"trigger": "scheduler", "reason": "due"},
                lambda fresh: is_due_now(fresh, now),
                state=catalog_state,
            )
        except Exception as exc:  # noqa: BLE001 - recorded like the crawl pass does
            conn.rollback()
            result.errors.append(f"{row['domain']}: catalogue sync: {exc}")
            continue
        (result.catalog_syncs if job_id else result.skipped).append(row["domain"])

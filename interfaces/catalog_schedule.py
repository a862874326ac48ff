"""Catalogue syncs are scheduled like crawls: a domain with an active catalogue source is due
when its scrape frequency has passed since its last sync (or last sync job, so a failing sync
is retried once per period, not on every pass). One `catalog` job per domain covers all its
sources; a domain with one pending or running is skipped."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from db import jobs
from core.frequency import is_due

CATALOG_STATE = """
SELECT d.id, d.domain, d.scrape_frequency,
       GREATEST(min(s.last_synced_at),
                (SELECT max(j.created_at) FROM content_refresh_jobs j
                  WHERE j.domain_id = d.id AND j.job_type = 'catalog')) AS last_sync_attempt,
       EXISTS (SELECT 1 FROM content_refresh_jobs j WHERE j.domain_id = d.id
                 AND j.job_type = 'catalog' AND j.status IN ('pending', 'running')) AS syncing
  FROM catalog_sources s JOIN domains d ON d.id = s.domain_id
 WHERE s.active AND d.active IS NOT FALSE {where}
 GROUP BY d.id ORDER BY d.domain
"""


def catalog_state(conn: psycopg.Connection, domain_id: Any = None) -> list[dict[str, Any]]:
    if domain_id is None:
        return conn.execute(CATALOG_STATE.format(where="")).fetchall()
    return conn.execute(CATALOG_STATE.format(where="AND d.id = %s"), (domain_id,)).fetchall()


def sync_due(row: dict[str, Any], now: datetime) -> bool:
    return not row["syncing"] and is_due(row["scrape_frequency"], row["last_sync_attempt"], now)


def queue_catalog_syncs(scheduler: Any, result: Any) -> None:
    """One scheduler pass over the catalogue sources (`Scheduler.run_once` calls it)."""
    conn = scheduler.conn
    rows = catalog_state(conn)
    conn.commit()
    now = scheduler.now()
    for row in rows:
        if not sync_due(row, now):
            continue
        try:
            job_id = scheduler._queue(
                row, jobs.JobType.CATALOG, {"trigger": "scheduler", "reason": "due"},
                lambda fresh: any(sync_due(r, now) for r in catalog_state(conn, fresh["id"])))
        except Exception as exc:  # noqa: BLE001 - recorded like the crawl pass does
            conn.rollback()
            result.errors.append(f"{row['domain']}: catalogue sync: {exc}")
            continue
        (result.catalog_syncs if job_id else result.skipped).append(row["domain"])

"""Is this domain due or busy: the one answer the scheduler (crawls), the catalogue schedule
(shop API syncs) and the dashboard ("next crawl") share.

A domain is **busy** while a pipeline job of the schedule's types is pending or running, and
**due** when its frequency has passed since its last attempt: the later of the last finished
run (`last_scraped_at`, or the oldest `last_synced_at` of its active catalogue sources) and the
last pipeline job of those types (so a failing run is retried once per period, not on every
pass). Only `origin = 'pipeline'` jobs count (docs/security.md): a job row a tenant wrote or
touched never makes a domain busy, nor postpones it. With the sweeper (workers/sweeper.py) a
pending or running job always reaches a worker and ends, so busy never lasts forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.frequency import is_due, next_crawl_at
from db.connection import Conn
from db.jobs import ACTIVE, CRAWL_TYPES, JobType


@dataclass(frozen=True)
class Schedule:
    job_types: tuple[str, ...]
    last_done: str  # SQL: the last finished run
    sources: str = ""  # SQL joined to `domains d` (and grouped by d.id when set)


CRAWLS = Schedule(CRAWL_TYPES, "d.last_scraped_at")
CATALOG_SYNCS = Schedule(
    (JobType.CATALOG.value,),
    "min(s.last_synced_at)",
    "JOIN catalog_sources s ON s.domain_id = d.id AND s.active",
)

_STATE = """
SELECT d.id, d.domain, d.scrape_frequency, {last_done} AS last_done_at,
       (SELECT max(j.created_at) FROM content_refresh_jobs j
         WHERE j.domain_id = d.id AND j.job_type = ANY(%(types)s)
           AND j.origin = 'pipeline') AS last_job_at,
       EXISTS (SELECT 1 FROM content_refresh_jobs j
         WHERE j.domain_id = d.id AND j.job_type = ANY(%(types)s) AND j.origin = 'pipeline'
           AND COALESCE(j.status, 'pending') = ANY(%(active)s)) AS busy
  FROM domains d {sources}
 WHERE {active} {where}
 {group} ORDER BY d.domain
"""


def domain_states(
    conn: Conn, schedule: Schedule, domain_id: Any = None, *, active_only: bool = True
) -> list[dict[str, Any]]:
    """One row per active domain of the schedule (or just `domain_id`; every domain with
    `active_only=False`): id, domain, scrape_frequency, last_done_at, last_job_at, busy."""
    sql = _STATE.format(
        last_done=schedule.last_done,
        sources=schedule.sources,
        active="d.active IS NOT FALSE" if active_only else "true",
        where="" if domain_id is None else "AND d.id = %(domain_id)s",
        group="GROUP BY d.id" if schedule.sources else "",
    )
    return conn.execute(
        sql, {"types": list(schedule.job_types), "active": list(ACTIVE), "domain_id": domain_id}
    ).fetchall()


def last_attempt(row: dict[str, Any]) -> datetime | None:
    moments = [m for m in (row.get("last_done_at"), row.get("last_job_at")) if m]
    return max(moments) if moments else None


def is_due_now(row: dict[str, Any], now: datetime) -> bool:
    """Not busy, and its frequency has passed since its last attempt."""
    return not row["busy"] and is_due(row["scrape_frequency"], last_attempt(row), now)


def next_run_at(row: dict[str, Any]) -> datetime | None:
    """When it is due (None: now); the dashboard's "next crawl"."""
    return next_crawl_at(row["scrape_frequency"], last_attempt(row))

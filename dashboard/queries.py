"""The dashboard's reads from Postgres (one function per panel)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from db.connection import Conn, one
from db.domain_schedule import CRAWLS, domain_states, next_run_at
from db.jobs import CRAWL_TYPES, JOB_TYPES, STATUSES, health_columns
from db.source_counts import SOURCE_COUNT_COLUMNS

JOB_LIMIT = 100


def jobs_list(
    conn: Conn,
    *,
    status: str | None = None,
    job_type: str | None = None,
    domain: str | None = None,
    limit: int = JOB_LIMIT,
    unfinished: bool = False,
) -> list[dict[str, Any]]:
    if status and status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    if job_type and job_type not in JOB_TYPES:
        raise ValueError(f"unknown job type {job_type!r}")
    return conn.execute(
        "SELECT j.id, j.job_type, j.status, j.created_at, j.started_at, j.completed_at, "
        f"       j.error_message, j.metadata, d.domain, {health_columns('j')} "
        "FROM content_refresh_jobs j LEFT JOIN domains d ON d.id = j.domain_id "
        "WHERE (%(status)s::text IS NULL OR j.status = %(status)s) "
        "  AND (%(job_type)s::text IS NULL OR j.job_type = %(job_type)s) "
        "  AND (%(domain)s::text IS NULL OR d.domain = %(domain)s) "
        "  AND (NOT %(unfinished)s OR COALESCE(j.status, 'pending') IN ('pending', 'running')) "
        "ORDER BY j.created_at DESC, j.id LIMIT %(limit)s",
        {
            "status": status or None,
            "job_type": job_type or None,
            "domain": domain or None,
            "limit": limit,
            "unfinished": unfinished,
        },
    ).fetchall()


def running_crawls(conn: Conn) -> list[dict[str, Any]]:
    """Crawls now running with their latest progress (the crawl writes it every few seconds):
    pages fetched, queued, per second, errors."""
    rows = conn.execute(
        "SELECT j.id, j.job_type, j.started_at, d.domain, j.metadata->'progress' AS progress, "
        "       COALESCE((j.metadata->>'attempts')::int, 1) AS attempts "
        "FROM content_refresh_jobs j LEFT JOIN domains d ON d.id = j.domain_id "
        "WHERE j.status = 'running' AND j.job_type = ANY(%s) ORDER BY j.started_at, j.id",
        (list(CRAWL_TYPES),),
    ).fetchall()
    for row in rows:
        progress = row["progress"] or {}
        row.update(
            fetched=progress.get("pages_seen", 0),
            queued=progress.get("queued", 0),
            per_second=progress.get("pages_per_s", 0.0),
            errors=progress.get("failed", 0),
            stored=progress.get("new", 0)
            + progress.get("changed", 0)
            + progress.get("unchanged", 0),
        )
    return rows


def jobs_by_status(conn: Conn) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT job_type, COALESCE(status, 'pending') AS status, count(*) AS n "
        "FROM content_refresh_jobs GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()


def domain_overview(conn: Conn) -> list[dict[str, Any]]:
    """One row per domain: pages by status, last crawl, extractions, chunks, tokens, cost, and
    the scheduler's view of it (`busy`, `next_crawl_at`: db/domain_schedule.py)."""
    rows = conn.execute(
        """
        SELECT d.id, d.domain, d.scrape_frequency, d.last_scraped_at, d.active,
               """
        + SOURCE_COUNT_COLUMNS
        + """,
               COALESCE(p.by_status, '{}'::jsonb) AS pages_by_status,
               COALESCE(p.total, 0) AS pages,
               (SELECT count(*) FROM structured_extractions e
                 WHERE e.domain_id = d.id) AS extractions,
               (SELECT count(*) FROM scraped_pages f WHERE f.domain_id = d.id
                 AND f.metadata ? 'forgotten_at') AS forgotten,      -- db/forget.py
               (SELECT count(*) FROM page_embeddings pe JOIN scraped_pages sp ON sp.id = pe.page_id
                 WHERE sp.domain_id = d.id) AS chunks,
               (SELECT COALESCE(sum(u.tokens), 0) FROM business_usage u
                 WHERE u.domain_id = d.id) AS tokens,
               (SELECT COALESCE(sum(u.cost), 0) FROM business_usage u
                 WHERE u.domain_id = d.id) AS cost
          FROM domains d
          LEFT JOIN LATERAL (
               SELECT jsonb_object_agg(s.status, s.n) AS by_status, sum(s.n) AS total
                 FROM (SELECT COALESCE(status, 'pending') AS status, count(*) AS n
                         FROM scraped_pages WHERE domain_id = d.id GROUP BY 1) s) p ON true
         ORDER BY d.domain
        """
    ).fetchall()
    schedule = {s["id"]: s for s in domain_states(conn, CRAWLS, active_only=False)}
    for row in rows:
        state = schedule[row["id"]]
        row.update(busy=state["busy"], last_crawl_job_at=state["last_job_at"])
        try:
            row["next_crawl_at"] = next_run_at(state)
        except ValueError:  # a frequency the scheduler cannot read
            row["next_crawl_at"] = None
    return rows


def last_crawl(conn: Conn, domain_id: Any, status: str = "completed") -> dict[str, Any] | None:
    """The latest crawl job that ended with `status` (a completed one's metadata holds what
    changed)."""
    return conn.execute(
        "SELECT id, status, started_at, completed_at, error_message, metadata "
        "FROM content_refresh_jobs WHERE domain_id = %s AND job_type = ANY(%s) "
        "AND status = %s ORDER BY completed_at DESC NULLS LAST LIMIT 1",
        (domain_id, list(CRAWL_TYPES), status),
    ).fetchone()


def extraction_counts(conn: Conn, domain_id: Any) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT extract_type, count(*) AS n FROM structured_extractions WHERE domain_id = %s "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
        (domain_id,),
    ).fetchall()


def usage_by_type(conn: Conn, domain_id: Any) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT usage_type, model, sum(requests) AS requests, sum(tokens) AS tokens, "
        "sum(cost) AS cost FROM business_usage WHERE domain_id = %s GROUP BY 1, 2 ORDER BY 1, 2",
        (domain_id,),
    ).fetchall()


def totals(conn: Conn) -> dict[str, Any]:
    return one(
        conn.execute(
            "SELECT (SELECT count(*) FROM domains) AS domains, "
            "       (SELECT count(*) FROM scraped_pages) AS pages, "
            "       (SELECT count(*) FROM page_embeddings) AS chunks, "
            "       (SELECT count(*) FROM structured_extractions) AS extractions, "
            "       (SELECT COALESCE(sum(tokens), 0) FROM business_usage) AS tokens, "
            "       (SELECT COALESCE(sum(cost), 0) FROM business_usage) AS cost"
        )
    )


def pages_by_status(conn: Conn) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT COALESCE(status, 'pending') AS status, count(*) AS n "
        "FROM scraped_pages GROUP BY 1 ORDER BY 1"
    ).fetchall()


def tokens_by_type(conn: Conn) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT usage_type, COALESCE(sum(tokens), 0) AS tokens, "
        "COALESCE(sum(cost), 0) AS cost FROM business_usage GROUP BY 1 "
        "ORDER BY 1"
    ).fetchall()


def _per_minute(
    conn: Conn, sql_from: str, column: str, minutes: int, domain_id: Any = None
) -> list[list[Any]]:
    rows = conn.execute(
        f"SELECT m.t, COALESCE(c.n, 0) AS n FROM generate_series("
        f"  date_trunc('minute', now()) - make_interval(mins => %(m)s - 1), "
        f"  date_trunc('minute', now()), interval '1 minute') AS m(t) "
        f"LEFT JOIN (SELECT date_trunc('minute', {column}) AS t, count(*) AS n {sql_from} "
        f"  AND {column} > now() - make_interval(mins => %(m)s) GROUP BY 1) c ON c.t = m.t "
        f"ORDER BY m.t",
        {"m": minutes, "domain_id": domain_id},
    ).fetchall()
    return [[r["t"].strftime("%H:%M"), int(r["n"])] for r in rows]


def charts(
    conn: Conn, domain_id: Any = None, minutes: int = 60, days: int = 14
) -> dict[str, list[list[Any]]]:
    """Series for the charts: pages/min and chunks/min (last hour), tokens/day (last days)."""
    pages_from = (
        "FROM scraped_pages WHERE (%(domain_id)s::uuid IS NULL OR domain_id = %(domain_id)s)"
    )
    chunks_from = (
        "FROM page_embeddings pe JOIN scraped_pages sp ON sp.id = pe.page_id "
        "WHERE (%(domain_id)s::uuid IS NULL OR sp.domain_id = %(domain_id)s)"
    )
    tokens = conn.execute(
        "SELECT d::date AS day, COALESCE(sum(u.tokens), 0) AS n "
        "FROM generate_series(CURRENT_DATE - (%(days)s - 1), CURRENT_DATE, interval '1 day') AS d "
        "LEFT JOIN business_usage u ON u.usage_date = d::date "
        " AND (%(domain_id)s::uuid IS NULL OR u.domain_id = %(domain_id)s) "
        "GROUP BY 1 ORDER BY 1",
        {"days": days, "domain_id": domain_id},
    ).fetchall()
    return {
        "pages_per_minute": _per_minute(conn, pages_from, "scraped_at", minutes, domain_id),
        "chunks_per_minute": _per_minute(conn, chunks_from, "pe.created_at", minutes, domain_id),
        "tokens_per_day": [[r["day"].strftime("%m-%d"), int(r["n"])] for r in tokens],
    }


def now() -> datetime:
    return datetime.now(UTC)

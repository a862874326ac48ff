"""Queue refresh jobs, list them, re-queue failed ones (what `omni refresh` / `omni jobs` do)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from core.domains import normalize_domain
from core.errors import NotFound, OmniError
from db import jobs, tenants
from db.connection import Conn
from workers.dispatch import send_job

PAGES_PER_JOB = 200


def find_domain(conn: Conn, domain: str) -> dict[str, Any]:
    name = normalize_domain(domain)
    twin = name[4:] if name.startswith("www.") else f"www.{name}"  # www. is the same site
    row = tenants.get_domain(conn, name) or tenants.get_domain(conn, twin)
    if row is None:
        raise NotFound(f"unknown domain {name!r} (add it with `omni domain add {name}`)")
    return row


def queue_refresh(
    conn: Conn,
    domain: str,
    job_type: str = jobs.JobType.FULL,
    force: bool = False,
    pages_per_job: int = PAGES_PER_JOB,
) -> list[UUID]:
    """Create and send the jobs for one refresh. `conn` must be in autocommit mode, so each job
    row is committed before its message can reach a worker."""
    if job_type not in jobs.JOB_TYPES:
        raise OmniError(
            f"unknown refresh type {job_type!r}; expected one of {', '.join(jobs.JOB_TYPES)}"
        )
    row = find_domain(conn, domain)
    base: dict[str, Any] = {"force": True} if force else {}
    if jobs.is_crawl(job_type):
        ids = [jobs.create(conn, row["id"], job_type, {**base, "requested_by": "cli"})]
    else:
        page_ids = [
            str(r["id"])
            for r in conn.execute(
                "SELECT id FROM scraped_pages WHERE domain_id = %s "
                "AND COALESCE(status, 'pending') NOT IN ('duplicate', 'redirect', 'skipped') "
                "ORDER BY url",
                (row["id"],),
            )
        ]
        if not page_ids:
            raise OmniError(
                f"{row['domain']} has no stored pages yet; run `omni refresh "
                f"{row['domain']} --type crawl` first"
            )
        ids = [
            jobs.create(
                conn,
                row["id"],
                job_type,
                {**base, "page_ids": page_ids[i : i + pages_per_job], "requested_by": "cli"},
            )
            for i in range(0, len(page_ids), pages_per_job)
        ]
    for job_id in ids:
        send_job(job_id, job_type)
    return ids


def list_jobs(
    conn: Conn, status: str | None = None, domain: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    if status is not None and status not in jobs.STATUSES:
        raise OmniError(f"unknown status {status!r}; expected one of {', '.join(jobs.STATUSES)}")
    clauses, params = [], []
    if status:
        clauses.append("j.status = %s")
        params.append(status)
    if domain:
        clauses.append("d.domain = %s")
        params.append(normalize_domain(domain))
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    return conn.execute(
        "SELECT j.id, d.domain, j.job_type, j.status, j.created_at, j.started_at, j.completed_at, "
        f"j.error_message, j.metadata, {jobs.health_columns('j')} FROM content_refresh_jobs j "
        f"LEFT JOIN domains d ON d.id = j.domain_id {where} "
        "ORDER BY j.created_at DESC, j.id LIMIT %s",
        (*params, limit),
    ).fetchall()


def retry_job(conn: Conn, job_id: str) -> dict[str, Any]:
    try:
        UUID(job_id)
    except ValueError:
        raise OmniError(f"{job_id!r} is not a job id") from None
    try:
        return jobs.retry(conn, job_id, send_job)
    except jobs.RetryRefused as exc:
        raise (NotFound if exc.status is None else OmniError)(str(exc)) from None
    except jobs.RetryNotSent as exc:
        raise OmniError(f"job {job_id} could not be queued: {exc}") from None

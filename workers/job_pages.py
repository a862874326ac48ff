"""The pages a job names, checked against the job's domain: one rule for every page job.

A `content_refresh_jobs` row is tenant-writable (docs/security.md), so its `metadata.page_ids`
must never steer this service-role code at another tenant's pages. `job_page_ids` is the one
check, used by the extract, optimize and embed jobs: a value that is not a page id, or an id of
a page of another domain, fails the job (`PermanentError`, saying which and how many); an id of
a page that no longer exists is dropped (deleted since the job was made).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from db.connection import Conn
from workers.errors import PermanentError


def requested_ids(job: dict[str, Any]) -> list[str]:
    """`metadata.page_ids` as canonical UUID strings, each once, in order (pure)."""
    ids = (job.get("metadata") or {}).get("page_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        raise PermanentError(f"job {job.get('id')}: metadata.page_ids must be a list of page ids")
    out = []
    for value in ids:
        try:
            out.append(str(UUID(value)))
        except ValueError as exc:
            raise PermanentError(
                f"job {job.get('id')}: metadata.page_ids holds {value[:60]!r}, "
                "which is not a page id; nothing was done"
            ) from exc
    return list(dict.fromkeys(out))


def job_page_ids(conn: Conn, job: dict[str, Any]) -> list[str]:
    """The job's page ids that exist for its domain, in the job's order; raises PermanentError
    for a forged id (see the module's docstring)."""
    ids = requested_ids(job)
    if not ids:
        return []
    rows = conn.execute(
        "SELECT id::text AS id, domain_id FROM scraped_pages WHERE id = ANY(%s::uuid[])", (ids,)
    ).fetchall()
    foreign = [r["id"] for r in rows if str(r["domain_id"]) != str(job["domain_id"])]
    if foreign:
        raise PermanentError(
            f"job {job.get('id')}: metadata.page_ids names {len(foreign)} "
            "page(s) of another domain; nothing was done"
        )
    found = {r["id"] for r in rows}
    return [pid for pid in ids if pid in found]


def load_pages(conn: Conn, job: dict[str, Any], columns: str) -> list[dict[str, Any]]:
    """The job's pages (`columns` of `scraped_pages`), in the job's order; a job none of whose
    pages exist any more is a PermanentError."""
    ids = job_page_ids(conn, job)
    if not ids:
        if requested_ids(job):
            raise PermanentError(
                f"job {job.get('id')}: none of its {len(requested_ids(job))} "
                "pages exist for this domain"
            )
        return []
    rows = conn.execute(
        f"SELECT id::text AS id, {columns} FROM scraped_pages "
        "WHERE id = ANY(%s::uuid[]) AND domain_id = %s",
        (ids, job["domain_id"]),
    ).fetchall()
    order = {pid: i for i, pid in enumerate(ids)}
    return sorted(rows, key=lambda r: order[r["id"]])

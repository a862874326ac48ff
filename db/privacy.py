"""`privacy_requests`: GDPR/CCPA requests and their lifecycle (docs/privacy.md).

The schema's values (0002's CHECKs) are kept as they are:
- `request_type`: access and portability are answered with an export, deletion with an
  erasure (both a `privacy` job, workers/privacy_job.py); rectification and opt_out are
  recorded and tracked to their deadline but carried out by an operator (`omni privacy close`).
- `status`: pending (received) -> in_progress (its job started) -> completed | rejected.
  Each update is guarded by the states it may leave (`TRANSITIONS`), so a job run twice or a
  late operator cannot reopen a closed request.
- `due_at`: received + the regulation's deadline (GDPR one month, taken as 30 days; CCPA 45).
- `details`: `subject` ({email, session_id}: who the request is about), `summary` (what was
  done), `export` (an access/portability request's JSON document), `note`.
`requester_email` is the subject's email ('' when only a session id was given).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from core.errors import InvalidValue
from db import jobs
from db.connection import Conn, one


class Work(StrEnum):
    EXPORT = "export"
    ERASE = "erase"
    MANUAL = "manual"  # done by an operator; the request only tracks it


WORK_FOR_TYPE: dict[str, Work] = {
    "access": Work.EXPORT,
    "portability": Work.EXPORT,
    "deletion": Work.ERASE,
    "rectification": Work.MANUAL,
    "opt_out": Work.MANUAL,
}
REQUEST_TYPES: tuple[str, ...] = tuple(WORK_FOR_TYPE)
REGULATIONS: tuple[str, ...] = ("gdpr", "ccpa", "other")
DEADLINE_DAYS: dict[str, int] = {"gdpr": 30, "ccpa": 45, "other": 30}


class RequestStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REJECTED = "rejected"


OPEN: tuple[str, ...] = (RequestStatus.PENDING.value, RequestStatus.IN_PROGRESS.value)
# The states each target may be reached from (the SQL guard of each update).
TRANSITIONS: dict[RequestStatus, tuple[str, ...]] = {
    RequestStatus.IN_PROGRESS: OPEN,  # started, or started again after a failed attempt
    RequestStatus.COMPLETED: OPEN,
    RequestStatus.REJECTED: OPEN,
}


def deadline(regulation: str, received_at: datetime) -> datetime:
    return received_at + timedelta(days=DEADLINE_DAYS[regulation])


def is_overdue(status: str, due_at: datetime | None, now: datetime) -> bool:
    return status in OPEN and due_at is not None and due_at < now


def check_request(
    request_type: str, regulation: str, email: str | None, session_id: str | None
) -> None:
    """A clear error for a request that cannot be filed (pure)."""
    if request_type not in WORK_FOR_TYPE:
        raise InvalidValue(
            f"unknown request type {request_type!r}; expected one of {', '.join(REQUEST_TYPES)}"
        )
    if regulation not in DEADLINE_DAYS:
        raise InvalidValue(
            f"unknown regulation {regulation!r}; expected one of {', '.join(REGULATIONS)}"
        )
    if not (email or "").strip() and not (session_id or "").strip():
        raise InvalidValue("a privacy request needs the subject's --email or --session")
    if email and "@" not in email:
        raise InvalidValue(f"{email!r} is not an email address")


def create(
    conn: Conn,
    domain_id: UUID | str,
    request_type: str,
    *,
    email: str | None = None,
    session_id: str | None = None,
    regulation: str = "gdpr",
    note: str | None = None,
) -> dict[str, Any]:
    """The request row and, for the automated types, its `privacy` job (both in the caller's
    transaction: commit, then send the job's message). Returns the row with `job_id`."""
    check_request(request_type, regulation, email, session_id)
    email = (email or "").strip().lower()
    subject = {k: v for k, v in (("email", email), ("session_id", (session_id or "").strip())) if v}
    details: dict[str, Any] = {"subject": subject}
    if note:
        details["note"] = note
    row = dict(
        one(
            conn.execute(
                "INSERT INTO privacy_requests (domain_id, request_type, regulation, "
                "requester_email, "
                "details, due_at) VALUES (%s, %s, %s, %s, %s, now() + make_interval(days => %s)) "
                "RETURNING *",
                (
                    domain_id,
                    request_type,
                    regulation,
                    email,
                    Jsonb(details),
                    DEADLINE_DAYS[regulation],
                ),
            )
        )
    )
    row["job_id"] = None
    if WORK_FOR_TYPE[request_type] != Work.MANUAL:
        row["job_id"] = jobs.create(
            conn,
            domain_id,
            jobs.JobType.PRIVACY,
            {"privacy_request_id": str(row["id"]), "trigger": "cli"},
        )
    return row


def begin(conn: Conn, request_id: UUID | str, domain_id: UUID | str) -> dict[str, Any] | None:
    """pending | in_progress -> in_progress, locked for the caller's transaction; None when it
    is closed already (a message delivered twice) or not of this domain."""
    return conn.execute(
        "UPDATE privacy_requests SET status = 'in_progress' WHERE id = %s AND domain_id = %s "
        "AND status = ANY(%s) RETURNING *",
        (request_id, domain_id, list(TRANSITIONS[RequestStatus.IN_PROGRESS])),
    ).fetchone()


def finish(
    conn: Conn,
    request_id: UUID | str,
    status: RequestStatus,
    summary: dict[str, Any],
    export: dict[str, Any] | None = None,
) -> bool:
    """Close an open request with what was done (and the export document)."""
    extra = {"summary": summary, **({"export": export} if export is not None else {})}
    cur = conn.execute(
        "UPDATE privacy_requests SET status = %s, completed_at = now(), details = details || %s "
        "WHERE id = %s AND status = ANY(%s)",
        (str(status), Jsonb(extra), request_id, list(TRANSITIONS[status])),
    )
    return cur.rowcount > 0


def close(
    conn: Conn, request_id: UUID | str, status: RequestStatus, summary: str
) -> dict[str, Any]:
    """An operator closes a request (a manual type, or one it rejects)."""
    if status not in (RequestStatus.COMPLETED, RequestStatus.REJECTED):
        raise InvalidValue("a request is closed as completed or rejected")
    if not finish(conn, request_id, status, {"operator": summary}):
        current = get(conn, request_id)
        if current is None:
            raise InvalidValue(f"no privacy request {request_id}")
        raise InvalidValue(f"privacy request {request_id} is {current['status']} already")
    return get(conn, request_id) or {}


_SELECT = (
    "SELECT r.id, r.domain_id, d.domain, r.customer_id, r.request_type, r.regulation, "
    "r.requester_email, r.status, r.details, r.due_at, r.completed_at, r.created_at, "
    "coalesce(r.status = ANY(%(open)s) AND r.due_at < now(), false) AS overdue, "
    "(SELECT j.id FROM content_refresh_jobs j WHERE j.job_type = 'privacy' "
    "   AND j.metadata->>'privacy_request_id' = r.id::text ORDER BY j.created_at DESC LIMIT 1) AS "
    "job_id, "
    "(SELECT j.status FROM content_refresh_jobs j WHERE j.job_type = 'privacy' "
    "   AND j.metadata->>'privacy_request_id' = r.id::text ORDER BY j.created_at DESC LIMIT 1) AS "
    "job_status "
    "FROM privacy_requests r LEFT JOIN domains d ON d.id = r.domain_id "
)


def get(conn: Conn, request_id: UUID | str) -> dict[str, Any] | None:
    try:
        UUID(str(request_id))
    except ValueError:
        raise InvalidValue(f"{request_id!r} is not a privacy request id") from None
    return conn.execute(
        _SELECT + "WHERE r.id = %(id)s", {"open": list(OPEN), "id": str(request_id)}
    ).fetchone()


def list_requests(
    conn: Conn,
    *,
    domain_id: UUID | str | None = None,
    open_only: bool = False,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Newest first; `overdue` is an open request past its due date."""
    return conn.execute(
        _SELECT + "WHERE (%(domain)s::uuid IS NULL OR r.domain_id = %(domain)s) "
        "AND (NOT %(open_only)s OR r.status = ANY(%(open)s)) "
        "ORDER BY coalesce(r.status = ANY(%(open)s) AND r.due_at < now(), false) DESC, "
        "r.created_at DESC "
        "LIMIT %(limit)s",
        {"open": list(OPEN), "domain": domain_id, "open_only": open_only, "limit": limit},
    ).fetchall()


def counts(conn: Conn) -> dict[str, int]:
    row = one(
        conn.execute(
            "SELECT count(*) FILTER (WHERE status = ANY(%(open)s)) AS open, "
            "count(*) FILTER (WHERE status = ANY(%(open)s) AND due_at < now()) AS overdue "
            "FROM privacy_requests",
            {"open": list(OPEN)},
        )
    )
    return {"open": row["open"], "overdue": row["overdue"]}

"""The privacy job: a `privacy_requests` row answered (docs/privacy.md).

The message carries the job id; the job's metadata names the request (`privacy_request_id`),
which must be of the job's domain. `db.privacy.begin` moves the request to in_progress (its own
commit, so an open request shows it has started); then, in ONE transaction:

- export (access, portability): every row about the subject (`subject_rows`) as one JSON
  document, stored in the request's `details.export`;
- erasure (deletion): the same rows deleted, except the audit trail's, which is anonymised; the
  subject's other privacy requests anonymised; curated answers and pages that quote the subject's
  email or session id removed from the knowledge (db/forget.py);

with an audit row, the request completed with its summary. A subject who is an account holder of
the tenant (a customer with a customer_configs or businesses row) is not erased by this job:
the request is rejected with that reason, for the operator to close the account.
Run twice, the second run finds the request closed and does nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from core.config import Settings
from db import audit, privacy
from db.connection import Conn
from db.forget import remove_pages
from workers.errors import PermanentError

log = logging.getLogger(__name__)

# Tables read per subject, in export order, each with the rows about the subject. Parameters:
# %(domain)s, %(email)s ('' when not given), %(session)s ('' when not given), and %(customers)s,
# %(conversations)s, %(sessions)s: the ids found by the rows before.
SUBJECT_TABLES: tuple[tuple[str, str], ...] = (
    (
        "customers",
        "SELECT c.* FROM customers c JOIN domains d ON d.id = %(domain)s "
        "WHERE %(email)s <> '' AND lower(c.email) = %(email)s "
        "AND c.auth_user_id IS NOT DISTINCT FROM d.user_id",
    ),
    (
        "conversations",
        "SELECT * FROM conversations WHERE customer_id = ANY(%(customers)s) "
        "OR (domain_id = %(domain)s AND %(session)s <> '' AND session_id = %(session)s)",
    ),
    ("messages", "SELECT * FROM messages WHERE conversation_id = ANY(%(conversations)s)"),
    (
        "chat_sessions",
        "SELECT * FROM chat_sessions WHERE customer_id = ANY(%(customers)s) "
        "OR (domain_id = %(domain)s AND %(session)s <> '' "
        "    AND (session_token = %(session)s OR visitor_id = %(session)s))",
    ),
    ("chat_messages", "SELECT * FROM chat_messages WHERE session_id = ANY(%(sessions)s)"),
    (
        "customer_data_cache",
        "SELECT * FROM customer_data_cache WHERE customer_id = ANY(%(customers)s)",
    ),
    (
        "customer_verifications",
        "SELECT * FROM customer_verifications WHERE customer_id = ANY(%(customers)s) "
        "OR (domain_id = %(domain)s AND %(email)s <> '' AND lower(identifier) = %(email)s)",
    ),
    (
        # also the domain's rows naming the subject without its customer id (a session's reads)
        "customer_access_logs",
        "SELECT * FROM customer_access_logs WHERE customer_id = ANY(%(customers)s) "
        "OR (domain_id = %(domain)s AND ("
        "(%(email)s <> '' AND strpos(lower(coalesce(resource, '') || ' ' || "
        "  coalesce(metadata::text, '')), %(email)s) > 0) "
        "OR (%(session)s <> '' AND strpos(coalesce(resource, '') || ' ' || "
        "  coalesce(metadata::text, ''), %(session)s) > 0)))",
    ),
    (
        "privacy_requests",
        "SELECT id, domain_id, customer_id, request_type, regulation, requester_email, status, "
        "details - 'export' AS details, due_at, completed_at, created_at, updated_at "
        "FROM privacy_requests WHERE customer_id = ANY(%(customers)s) "
        "OR (domain_id = %(domain)s AND ((%(email)s <> '' AND lower(requester_email) = %(email)s) "
        "    OR (%(session)s <> '' AND details->'subject'->>'session_id' = %(session)s)))",
    ),
    # Derived knowledge: curated answers made from the subject's conversations or quoting them.
    (
        "training_data",
        "SELECT * FROM training_data WHERE domain_id = %(domain)s AND ("
        "metadata->>'conversation_id' = ANY(%(conversations)s::text[]) "
        "OR (%(email)s <> '' AND (strpos(lower(input_text || ' ' || output_text), %(email)s) > 0)) "
        "OR (%(session)s <> '' AND strpos(input_text || ' ' || output_text || metadata::text, "
        "    %(session)s) > 0))",
    ),
    (
        "scraped_pages",
        "SELECT id, domain_id, url, title, content, metadata, status, scraped_at FROM "
        "scraped_pages "
        "WHERE domain_id = %(domain)s AND ("
        "(%(email)s <> '' AND strpos(lower(coalesce(title, '') || ' ' || coalesce(content, '')), "
        "  %(email)s) > 0) "
        "OR (%(session)s <> '' AND strpos(coalesce(title, '') || ' ' || coalesce(content, ''), "
        "  %(session)s) > 0))",
    ),
)
# A customer with these is an account holder of the tenant, not only a data subject.
ACCOUNT_TABLES = ("customer_configs", "businesses")


def subject(request: dict[str, Any]) -> dict[str, str]:
    found = (request.get("details") or {}).get("subject") or {}
    return {
        "email": (found.get("email") or request.get("requester_email") or "").strip().lower(),
        "session": (found.get("session_id") or "").strip(),
    }


def subject_rows(conn: Conn, request: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every row about the request's subject, by table (one function for export and erasure)."""
    params: dict[str, Any] = {
        "domain": request["domain_id"],
        **subject(request),
        "customers": [],
        "conversations": [],
        "sessions": [],
    }
    out: dict[str, list[dict[str, Any]]] = {}
    for table, query in SUBJECT_TABLES:
        out[table] = [dict(r) for r in conn.execute(query, params).fetchall()]
        if table in ("customers", "conversations", "chat_sessions"):
            key = {
                "customers": "customers",
                "conversations": "conversations",
                "chat_sessions": "sessions",
            }[table]
            params[key] = [r["id"] for r in out[table]]
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (UUID, datetime)):
        return value.isoformat() if isinstance(value, datetime) else str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)  # inet, numeric, vectors


def export_document(
    request: dict[str, Any], rows: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """The subject's rows as one JSON document (pure)."""
    return {
        "privacy_request": str(request["id"]),
        "request_type": request["request_type"],
        "regulation": request["regulation"],
        "subject": _plain(subject(request)),
        "generated_at": datetime.now(UTC).isoformat(),
        "tables": {table: _plain(found) for table, found in rows.items()},
    }


def run_privacy(conn: Conn, job: dict[str, Any], settings: Settings) -> dict[str, Any]:
    request_id = (job.get("metadata") or {}).get("privacy_request_id")
    try:
        request_id = str(UUID(str(request_id)))
    except ValueError:
        raise PermanentError(
            f"metadata.privacy_request_id is not a request id: {request_id!r}"
        ) from None
    with conn.transaction():
        request = privacy.begin(conn, request_id, job["domain_id"])
        if request is None:
            current = conn.execute(
                "SELECT status, domain_id FROM privacy_requests WHERE id = %s", (request_id,)
            ).fetchone()
            if current is None or str(current["domain_id"]) != str(job["domain_id"]):
                raise PermanentError(f"no privacy request {request_id} in the job's domain")
            log.info(
                "privacy request %s is %s already; nothing to do", request_id, current["status"]
            )
            return {"privacy_request": request_id, "already": current["status"]}
    work = privacy.WORK_FOR_TYPE[request["request_type"]]
    if work == privacy.Work.MANUAL:
        raise PermanentError(
            f"a {request['request_type']} request is carried out by an operator "
            "(`omni privacy close`), not by a job"
        )
    with conn.transaction():
        conn.execute("SELECT 1 FROM privacy_requests WHERE id = %s FOR UPDATE", (request_id,))
        rows = subject_rows(conn, request)
        counts = {table: len(found) for table, found in rows.items() if found}
        if work == privacy.Work.EXPORT:
            document = export_document(request, rows)
            audit.record(
                conn,
                audit.Action.EXPORT,
                f"privacy_requests:{request_id}",
                f"{request['regulation']} {request['request_type']} request",
                domain_id=request["domain_id"],
                metadata={"rows": counts},
            )
            privacy.finish(
                conn,
                request_id,
                privacy.RequestStatus.COMPLETED,
                {"action": "export", "rows": counts},
                export=document,
            )
            return {"privacy_request": request_id, "action": "export", "rows": counts}
        holders = _account_holder(conn, [r["id"] for r in rows["customers"]])
        if holders:
            summary = {
                "action": "rejected",
                "reason": "the subject is an account holder of this "
                f"tenant ({', '.join(holders)}); close the account instead",
            }
            privacy.finish(conn, request_id, privacy.RequestStatus.REJECTED, summary)
            return {"privacy_request": request_id, **summary}
        removed = erase(conn, request, rows)
        audit.record(
            conn,
            audit.Action.ERASE,
            f"privacy_requests:{request_id}",
            f"{request['regulation']} {request['request_type']} request",
            domain_id=request["domain_id"],
            metadata={"rows": removed},
        )
        privacy.finish(
            conn, request_id, privacy.RequestStatus.COMPLETED, {"action": "erase", "rows": removed}
        )
    return {"privacy_request": request_id, "action": "erase", "rows": removed}


def _account_holder(conn: Conn, customer_ids: list[Any]) -> list[str]:
    return [
        table
        for table in ACCOUNT_TABLES
        if customer_ids
        and conn.execute(
            f"SELECT 1 FROM {table} WHERE customer_id = ANY(%s) LIMIT 1", (customer_ids,)
        ).fetchone()
    ]


def erase(
    conn: Conn, request: dict[str, Any], rows: dict[str, list[dict[str, Any]]]
) -> dict[str, int]:
    """Delete the subject's rows, anonymise what must stay (in the caller's transaction)."""
    ids = {table: [r["id"] for r in found] for table, found in rows.items()}
    done: dict[str, int] = {}
    # The audit trail keeps what happened and when, not who: unlinked before its customer goes
    # (the foreign key would cascade), its identifying fields cleared.
    done["customer_access_logs_anonymised"] = conn.execute(
        "UPDATE customer_access_logs SET customer_id = NULL, ip_address = NULL, user_agent = NULL, "
        "resource = NULL, metadata = jsonb_build_object('anonymised_by', %s::text) "
        "WHERE id = ANY(%s)",
        (str(request["id"]), ids["customer_access_logs"]),
    ).rowcount
    # Privacy requests about the subject stay as records of what was asked and done.
    done["privacy_requests_anonymised"] = conn.execute(
        "UPDATE privacy_requests SET customer_id = NULL, requester_email = '', "
        "details = jsonb_build_object('subject', jsonb_build_object('erased', true), "
        "  'erased_by', %s::text) || "
        "  CASE WHEN details ? 'summary' THEN jsonb_build_object('summary', details->'summary') "
        "       ELSE '{}'::jsonb END "
        "WHERE id = ANY(%s)",
        (str(request["id"]), ids["privacy_requests"]),
    ).rowcount
    for table in (
        "messages",
        "conversations",
        "chat_messages",
        "chat_sessions",
        "customer_data_cache",
        "customer_verifications",
        "training_data",
        "customers",
    ):
        done[table] = conn.execute(
            f"DELETE FROM {table} WHERE id = ANY(%s)", (ids[table],)
        ).rowcount
    if ids["scraped_pages"]:
        removed = remove_pages(
            conn, request["domain_id"], ids["scraped_pages"], f"privacy request {request['id']}"
        )
        done.update({f"knowledge_{k}": v for k, v in removed.items()})
    return {k: v for k, v in done.items() if v}

"""The audit trail: `customer_access_logs` rows for every decryption of stored credentials,
every privacy export and erasure, every key rotation (docs/privacy.md#audit-trail).

A row says who (`actor`: the process and the database role it ran as), what (`action`,
`resource`), when (`created_at`) and why (`metadata.reason`). Tenants read their own rows and
cannot write any (migration 0120); only the pipeline writes here, through `record`.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from db.connection import Conn, one


class Action(StrEnum):
    DECRYPT = "decrypt"  # a stored credential was decrypted
    EXPORT = "export"  # a privacy export was written
    ERASE = "erase"  # a privacy erasure was carried out
    ROTATE_KEYS = "rotate_keys"  # stored credentials were re-encrypted under a new key


def process_name() -> str:
    """What ran: the command or worker, with its pid (`omni secrets rotate[1234]`)."""
    argv = [os.path.basename(sys.argv[0] or "python"), *sys.argv[1:3]] if sys.argv else ["python"]
    return f"{' '.join(a for a in argv if not a.startswith('-'))}[{os.getpid()}]"


def actor(conn: Conn) -> str:
    role = one(conn.execute("SELECT current_user AS role"))
    return f"{process_name()} as {role['role'] if isinstance(role, dict) else role[0]}"


def record(
    conn: Conn,
    action: Action,
    resource: str,
    reason: str,
    *,
    domain_id: UUID | str | None = None,
    customer_id: UUID | str | None = None,
    metadata: dict[str, Any] | None = None,
) -> UUID:
    """One audit row, in the caller's transaction (so it commits with what it records)."""
    row = one(
        conn.execute(
            "INSERT INTO customer_access_logs (customer_id, domain_id, actor, action, resource, "
            "metadata) "
            "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
            (
                customer_id,
                domain_id,
                actor(conn),
                str(action),
                resource,
                Jsonb({**(metadata or {}), "reason": reason}),
            ),
        )
    )
    return row["id"] if isinstance(row, dict) else row[0]


def recent(conn: Conn, limit: int = 50, action: str | None = None) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT l.*, d.domain FROM customer_access_logs l LEFT JOIN domains d ON d.id = "
        "l.domain_id "
        "WHERE %(action)s::text IS NULL OR l.action = %(action)s "
        "ORDER BY l.created_at DESC LIMIT %(limit)s",
        {"action": action, "limit": limit},
    ).fetchall()

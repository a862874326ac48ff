"""Domain claims (migration 0042): a tenant files one, the pipeline verifies it and then
registers the domain to the tenant, or transfers it from its previous owner."""

from __future__ import annotations

from typing import Any

from db.connection import Conn


def pending(conn: Conn, domain: str) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT * FROM domain_claims WHERE domain = %s AND status = 'pending' ORDER BY "
        "created_at, id",
        (domain,),
    ).fetchall()


def mark_failed(conn: Conn, claim_id: Any, reason: str) -> None:
    conn.execute(
        "UPDATE domain_claims SET status = 'failed', checked_at = now(), "
        "error_message = %s WHERE id = %s",
        (reason[:1000], claim_id),
    )


def grant(conn: Conn, claim: dict[str, Any]) -> dict[str, Any]:
    """In one transaction: the domain belongs to the claimant from now on. Configs of the
    previous owner's customers for this domain are moved to omni_quarantine (its credentials
    must not become the new owner's); pages and content stay with the domain."""
    with conn.transaction():
        row = conn.execute(
            "SELECT * FROM domains WHERE domain = %s FOR UPDATE", (claim["domain"],)
        ).fetchone()
        previous = row["user_id"] if row else None
        if row is None:
            row = conn.execute(
                "INSERT INTO domains (domain, user_id) VALUES (%s, %s) RETURNING *",
                (claim["domain"], claim["user_id"]),
            ).fetchone()
        elif previous != claim["user_id"]:
            conn.execute(
                # By column name: the two tables need not list their columns in the same order.
                "WITH moved AS (DELETE FROM customer_configs c WHERE c.domain_id = %s RETURNING "
                "c.*) "
                "INSERT INTO omni_quarantine.customer_configs SELECT (jsonb_populate_record("
                "NULL::omni_quarantine.customer_configs, to_jsonb(m) || jsonb_build_object("
                "'quarantined_at', now(), 'reason', 'domain transferred to a verified "
                "claimant'))).* "
                "FROM moved m",
                (row["id"],),
            )
            row = conn.execute(
                "UPDATE domains SET user_id = %s WHERE id = %s RETURNING *",
                (claim["user_id"], row["id"]),
            ).fetchone()
        conn.execute(
            "UPDATE domain_claims SET status = 'verified', checked_at = now(), "
            "verified_at = now(), error_message = NULL WHERE id = %s",
            (claim["id"],),
        )
    return {"domain": row, "previous_owner": previous}

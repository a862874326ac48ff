"""The audit trail: decryptions and key rotations write customer_access_logs rows (who, what,
when, why); tenants read their own rows and can change none."""

from __future__ import annotations

import pytest
from psycopg import errors

from core.crypto import Keyring, WrongKey, generate_key
from db import audit, credentials, tenants
from tests.support.tenants import as_tenant


def audit_rows(db, action: str) -> list[dict]:
    return db.execute(
        "SELECT * FROM customer_access_logs WHERE action = %s ORDER BY created_at", (action,)
    ).fetchall()


def test_every_decryption_is_audited_even_when_the_caller_rolls_back(db):
    domain = tenants.add_domain(db, "audit.test")
    ring = Keyring.from_string(generate_key())
    credentials.set_woocommerce(db, "audit.test", "ck_1", "cs_1", keyring=ring)
    assert audit_rows(db, "decrypt") == []  # storing encrypts; nothing was read
    with db.transaction(force_rollback=True):
        got = credentials.get_woocommerce(db, "audit.test", keyring=ring, reason="catalogue sync")
    assert got.consumer_key == "ck_1"
    [row] = audit_rows(db, "decrypt")
    assert row["domain_id"] == domain["id"] and row["metadata"]["reason"] == "catalogue sync"
    assert row["resource"].startswith("customer_configs:") and " as " in row["actor"]
    assert "ck_1" not in str(row) and "cs_1" not in str(row)
    # a failed decryption (wrong key) is an access attempt too
    with pytest.raises(WrongKey):
        credentials.get_woocommerce(db, "audit.test", keyring=Keyring.from_string(generate_key()))
    assert len(audit_rows(db, "decrypt")) == 2


def test_key_rotation_is_audited_with_the_rotation(db):
    tenants.add_domain(db, "rotate.test")
    old, new = generate_key(), generate_key()
    credentials.set_woocommerce(db, "rotate.test", "ck", "cs", keyring=Keyring.from_string(old))
    credentials.rotate(db, Keyring.from_string(f"{new},{old}"), reason="annual rotation")
    [row] = audit_rows(db, "rotate_keys")
    assert row["metadata"]["rotated"] == 2 and row["metadata"]["reason"] == "annual rotation"
    assert row["metadata"]["key_id"] == Keyring.from_string(new).current_kid


def test_tenants_read_their_audit_rows_and_cannot_change_them(db, two_tenants):
    alice, bob = two_tenants
    mine = alice.rows["customer_access_logs"]
    with as_tenant(db, alice["user"]) as conn:
        assert [r["id"] for r in conn.execute("SELECT id FROM customer_access_logs")] == [mine]
    for statement in (
        "UPDATE customer_access_logs SET action = 'none' WHERE id = %s",
        "DELETE FROM customer_access_logs WHERE id = %s",
    ):
        with pytest.raises(errors.InsufficientPrivilege), as_tenant(db, alice["user"]) as conn:
            conn.execute(statement, (mine,))
    with pytest.raises(errors.InsufficientPrivilege), as_tenant(db, alice["user"]) as conn:
        audit.record(
            conn,
            audit.Action.EXPORT,
            "forged",
            "a tenant forging an entry",
            domain_id=alice["domain"],
            customer_id=alice["customer"],
        )
    assert db.execute("SELECT count(*) AS n FROM customer_access_logs").fetchone()["n"] == 2

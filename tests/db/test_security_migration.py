"""Migration 0041 on a database that already has customer_configs rows (docs/security.md):
legitimate rows get their domain_id; a row for an unregistered domain or one whose customer
does not own the domain (the credential-theft shape) is moved to omni_quarantine, not lost."""

from __future__ import annotations

import pytest

from db import migrate as migrations
from db.connection import connect


def test_existing_configs_are_bound_or_quarantined(
    scratch_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:

    everything = migrations.discover()
    with connect(autocommit=True, dsn=scratch_database) as conn:
        monkeypatch.setattr(
            migrations,
            "discover",
            lambda directory=None: [m for m in everything if int(m.version) < 40],
        )
        migrations.migrate(conn)
        users = {
            n: conn.execute(
                "INSERT INTO auth.users (email) VALUES (%s) RETURNING id", (f"{n}@x.test",)
            ).fetchone()["id"]
            for n in ("a", "b")
        }
        cust = {
            n: conn.execute(
                "INSERT INTO customers (auth_user_id, email) VALUES (%s, %s) RETURNING id",
                (users[n], f"{n}@x.test"),
            ).fetchone()["id"]
            for n in ("a", "b")
        }
        for name, owner in (("a.test", "a"), ("b.test", "b"), ("c.test", "b")):
            conn.execute(
                "INSERT INTO domains (domain, user_id) VALUES (%s, %s)", (name, users[owner])
            )
        rows = [
            (cust["b"], "b.test", "legit"),
            (None, "a.test", "operator"),
            (cust["a"], "c.test", "hijack"),
            (cust["a"], "nowhere.test", "orphan"),
        ]
        for customer, domain, note in rows:
            conn.execute(
                "INSERT INTO customer_configs (customer_id, domain, business_name, "
                "woocommerce_url) VALUES (%s, %s, %s, 'https://shop')",
                (customer, domain, note),
            )

        monkeypatch.setattr(migrations, "discover", lambda directory=None: everything)
        applied = [m.version for m in migrations.migrate(conn)]
        assert {"0040", "0041", "0042"} <= set(applied)

        kept = conn.execute(
            "SELECT c.business_name, c.domain, d.domain AS via_id FROM customer_configs c "
            "JOIN domains d ON d.id = c.domain_id ORDER BY 1"
        ).fetchall()
        assert [(r["business_name"], r["domain"], r["via_id"]) for r in kept] == [
            ("legit", "b.test", "b.test"),
            ("operator", "a.test", "a.test"),
        ]
        parked = conn.execute(
            "SELECT business_name, domain, reason, woocommerce_url "
            "FROM omni_quarantine.customer_configs ORDER BY 1"
        ).fetchall()
        assert [
            (r["business_name"], r["domain"], r["reason"], r["woocommerce_url"]) for r in parked
        ] == [
            ("hijack", "c.test", "customer does not own the domain", "https://shop"),
            ("orphan", "nowhere.test", "domain not registered", "https://shop"),
        ]
        grants = conn.execute(
            "SELECT has_schema_privilege('authenticated', 'omni_quarantine', 'USAGE') "
            "AS tenant, has_schema_privilege('anon', 'omni_quarantine', 'USAGE') AS anon"
        ).fetchone()
        assert grants == {"tenant": False, "anon": False}

"""The migrations and the operator's commands on plain Postgres: Debian's own server
(/usr/lib/postgresql/<major>, each of 15 to 18 that is installed) with pgvector >= 0.8 built into
it, in a cluster fresh from initdb (no Supabase objects: the superuser postgres, no `auth` schema,
the extensions in `public`). A fresh install, `omni customer add`, `omni domain add` and
`omni doctor`; and an install made by the old chain (0001..0060) upgraded to exactly the fresh
install's catalog.

Needs root (Postgres runs as the OS user postgres) and the server with pgvector; skips with the
reason otherwise (CI's machine has neither). Debian 12's own pgvector package is older than 0.8:
the Supabase kit (../shared/supabase-kit) builds pgvector 0.8.0 into Debian's Postgres 15 when
one of its clusters is built; with OMNI_SUPABASE_KIT_BUILD=1 this test builds the kit's `current`
cluster for that when pgvector is missing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from db.connection import connect
from tests.support.environment import fresh_database
from tests.support.migrations import assert_old_chain_upgrades_to_fresh_schema
from tests.support.servers import (
    KIT_BUILD,
    omni,
    pg_bin,
    plain_cluster,
    require_root,
    start_kit,
    stop_kit,
    supabase_kit,
    vector_version,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("plain-postgres")]

MAJORS = (15, 16, 17, 18)


def _pgvector(major: int) -> None:
    """pgvector >= 0.8 in Debian's Postgres `major`, built by the kit if allowed; else skip."""
    if (vector_version(major) or ()) >= (0, 8):
        return
    if major == 15 and supabase_kit() is not None and os.environ.get(KIT_BUILD) == "1":
        start_kit("current")  # the kit's build installs pgvector 0.8.0 into Postgres 15
        stop_kit("current")
        if (vector_version(major) or ()) >= (0, 8):
            return
    found = ".".join(map(str, vector_version(major) or ())) or "none"
    pytest.skip(
        f"pgvector >= 0.8 is not built into Postgres {major} (found: {found}); the Supabase "
        f"kit builds 0.8.0 into Postgres 15 ({KIT_BUILD}=1, or its make_supabase_pg.sh)"
    )


@pytest.fixture(scope="module", params=MAJORS, ids=lambda major: f"pg{major}")
def plain_server(request) -> Iterator[str]:
    """The admin URL of a running throw-away cluster of Debian's Postgres `major`."""
    major = request.param
    require_root("plain Postgres")
    if not (pg_bin(major) / "postgres").exists():
        pytest.skip(f"Debian's postgresql-{major} is not installed ({pg_bin(major)})")
    _pgvector(major)
    with plain_cluster(major) as url:
        yield url


def test_fresh_install_customer_domain_and_doctor(plain_server) -> None:
    with fresh_database(plain_server, "omni_plain") as url:
        migrated = omni(url, "db", "migrate")
        assert migrated.returncode == 0, migrated.stderr
        customer = omni(url, "customer", "add", "owner@plain.test", "--company", "Plain Ltd")
        assert customer.returncode == 0, customer.stderr
        domain = omni(url, "domain", "add", "shop.plain.test", "--customer", "owner@plain.test")
        assert domain.returncode == 0, domain.stderr
        checks = ["postgres", "pgvector", "pg_trgm", "migrations"]
        doctor = omni(url, "doctor", "--json", *(a for c in checks for a in ("--check", c)))
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        results = {r["name"]: r["status"] for r in json.loads(doctor.stdout)["checks"]}
        assert results == dict.fromkeys(checks, "ok")
        with connect(autocommit=True, dsn=url) as conn:
            extensions = {
                r["extname"]: (r["nspname"], r["extversion"])
                for r in conn.execute(
                    "SELECT e.extname, n.nspname, e.extversion FROM pg_extension e "
                    "JOIN pg_namespace n ON n.oid = e.extnamespace"
                )
            }
            # plain Postgres: the project's stand-in for Supabase Auth holds the customer's user
            owner = conn.execute(
                "SELECT d.domain, c.company_name, u.email FROM domains d "
                "JOIN auth.users u ON u.id = d.user_id JOIN customers c ON c.auth_user_id = u.id "
                "WHERE d.domain = 'shop.plain.test'"
            ).fetchone()
            assert (
                conn.execute(
                    "SELECT count(*) AS n FROM pg_namespace WHERE nspname IN "
                    "('extensions', 'storage', 'realtime')"
                ).fetchone()["n"]
                == 0
            )
    assert extensions["vector"][0] == "public"
    assert tuple(int(p) for p in extensions["vector"][1].split(".")[:2]) >= (0, 8)
    assert owner == {
        "domain": "shop.plain.test",
        "company_name": "Plain Ltd",
        "email": "owner@plain.test",
    }


def test_old_chain_upgraded_has_the_fresh_schema(plain_server, tmp_path) -> None:
    assert_old_chain_upgrades_to_fresh_schema(plain_server, tmp_path)

"""The migrations, the privilege and RLS checks and `omni customer add` on the Supabase kit
(../shared/supabase-kit: a Postgres 15 initialised from Supabase's own published SQL), both
profiles: `current` (secure-by-default, postgres without CREATE on auth), `current` with
SUPABASE_EXPOSE_NEW_TABLES=1, and `2024-10` (where the old chain still applied: it is upgraded).

Needs the kit and root; skips with the reason otherwise (CI's fresh machine has no ../shared).
Building a kit cluster takes minutes (it compiles extensions), so a target that is not built yet
is built only with OMNI_SUPABASE_KIT_BUILD=1; a built one (OMNI_SUPABASE_KIT_TARGETS/<profile>,
default .omni-test/supabase-kit/<profile>) is reused: started, a database copied from its
untouched `postgres` database for each test, and stopped again afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from db.connection import connect
from db.migrate import MigrationError, migrate
from tests.support.servers import KIT_PROFILES, old_chain, omni, start_kit, stop_kit, supabase_kit
from tests.support.supabase import api_request
from tests.support.tenants import ROW_SPECS, build_world

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("supabase-kit")]

PASSWORD = "postgres"  # the kit's default SUPABASE_DB_PASSWORD


@pytest.fixture(params=list(KIT_PROFILES))
def kit_database(request) -> Iterator[tuple[str, str]]:
    """(mark, url as postgres) of a fresh copy of a kit cluster's never-migrated database."""
    mark = request.param
    server = f"postgresql://%s:{PASSWORD}@127.0.0.1:{start_kit(mark)}/%s"
    name = f"omni_kit_{uuid.uuid4().hex[:8]}"
    admin_url = server % ("supabase_admin", "template1")
    try:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE postgres OWNER postgres')
        try:
            yield mark, server % ("postgres", name)
        finally:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        stop_kit(mark)


def _supabase_objects(url: str) -> set[str]:
    """The kit's own snapshot of Supabase-owned objects (its supabase_objects.sql)."""
    query = (supabase_kit() / "supabase_objects.sql").read_text()
    with psycopg.connect(url.replace("//postgres:", "//supabase_admin:"), autocommit=True) as conn:
        conn.execute("SET search_path = pg_catalog")
        return {r[0] for r in conn.execute(query)}


def _checks(url: str, mark: str) -> None:
    """The privilege and RLS checks: every project table has RLS and no grant that reaches past it;
    through authenticator (as PostgREST), a tenant sees only its own row of each table."""
    tables = sorted(ROW_SPECS)
    with connect(autocommit=True, dsn=url) as conn:
        assert (
            conn.execute(
                "SELECT count(*) AS n FROM information_schema.role_table_grants WHERE "
                "table_schema = 'public' "
                "AND table_name = ANY(%s) AND (grantee = 'anon' OR (grantee = 'authenticated' AND "
                "privilege_type IN ('TRUNCATE', 'REFERENCES', 'TRIGGER')))",
                (tables,),
            ).fetchone()["n"]
            == 0
        )
        assert (
            conn.execute(
                "SELECT count(*) AS n FROM pg_class WHERE oid = ANY(%s::regclass[]) "
                "AND NOT relrowsecurity",
                ([f"public.{t}" for t in tables],),
            ).fetchone()["n"]
            == 0
        )
        assert (
            conn.execute(
                "SELECT count(*) AS n FROM pg_event_trigger WHERE evtname LIKE 'omni%'"
            ).fetchone()["n"]
            == 0
        )
        alice, bob = build_world(conn, f"alice{mark}"), build_world(conn, f"bob{mark}")
    with psycopg.connect(url.replace("//postgres:", "//authenticator:"), autocommit=True) as api:
        for table in tables:
            with api_request(
                api, "authenticated", {"sub": str(alice["user"]), "role": "authenticated"}
            ):
                seen = {
                    r[0]
                    for r in api.execute(
                        f"SELECT id FROM public.{table} WHERE id = ANY(%s)",
                        ([alice.rows[table], bob.rows[table]],),
                    )
                }
            assert seen == {alice.rows[table]}, table


def _customer_add(url: str) -> None:
    missing = omni(url, "customer", "add", "owner@kit.test")
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1
    assert "no Supabase Auth user has the email owner@kit.test" in missing.stderr
    with psycopg.connect(
        url.replace("//postgres:", "//supabase_auth_admin:"), autocommit=True
    ) as auth:
        user_id = auth.execute(
            "INSERT INTO auth.users (instance_id, id, aud, role, email, created_at, updated_at) "
            "VALUES "
            "('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', "
            "'authenticated', "
            "'owner@kit.test', now(), now()) RETURNING id"
        ).fetchone()[0]
    linked = omni(url, "customer", "add", "owner@kit.test")
    assert linked.returncode == 0, linked.stderr
    with psycopg.connect(url) as conn:
        assert conn.execute(
            "SELECT auth_user_id FROM customers WHERE email = 'owner@kit.test'"
        ).fetchone() == (user_id,)


def test_fresh_install_on_the_supabase_kit(kit_database) -> None:
    mark, url = kit_database
    before = _supabase_objects(url)
    result = omni(url, "db", "migrate")
    assert result.returncode == 0, result.stderr
    after = _supabase_objects(url)
    # the only change to Supabase's objects: the two extensions, in `extensions`
    assert sorted(before - after) == []
    assert sorted(
        line.split("|")[1] + " " + line.split("|")[2].split()[0] for line in after - before
    ) == ["pg_trgm schema=extensions", "vector schema=extensions"]
    _checks(url, mark)
    _customer_add(url)
    doctor = omni(url, "doctor")
    assert "migrations" in doctor.stdout and "up to date" in doctor.stdout


def test_old_chain_then_upgrade_on_the_supabase_kit(kit_database, tmp_path) -> None:
    """Installs made before the baseline: the chain 0001..0060 as it was (on a `current` project it
    fails at 0001, as reported), then today's migrations upgrade it."""
    mark, url = kit_database
    old_chain(tmp_path)
    with connect(autocommit=True, dsn=url) as conn:
        if mark != "2024-10":
            with pytest.raises(MigrationError, match="permission denied for schema auth"):
                migrate(conn, tmp_path)
            return
        migrate(conn, tmp_path)
        grants = conn.execute(
            "SELECT count(*) AS n FROM information_schema.role_table_grants "
            "WHERE table_name = 'domain_claims' AND grantee = 'authenticated' "
            "AND privilege_type = 'TRUNCATE'"
        ).fetchone()["n"]
        assert grants == 1  # the hole 0070 closes
        upgraded = [m.version for m in migrate(conn)]
        assert upgraded[0] == "0070"
    _checks(url, mark)
    _customer_add(url)

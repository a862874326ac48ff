"""The migrations and the CLI on a Supabase-shaped database (tests/support/supabase.py), migrated
as Supabase's non-superuser `postgres` (here supa_postgres), in both default-privilege variants."""

from __future__ import annotations

import shutil

import psycopg
import pytest
from psycopg import errors

from db.connection import connect
from db.migrate import MigrationError, discover, migrate
from tests.support.environment import database_on
from tests.support.supabase import (
    OTHER_APP_TABLES,
    api_request,
    create_auth_user,
    supabase_database,
)
from tests.support.tenants import build_world, truncate_all

# What Supabase owns or another application made, one line per object (the kit's
# supabase_objects.sql in small): it must read the same before and after the migrations.
_NOT_OURS = """
SELECT 'schema ' || n.nspname || ' ' || pg_get_userbyid(n.nspowner) || ' '
    || coalesce(n.nspacl::text, '')
  FROM pg_namespace n WHERE n.nspname IN ('auth', 'extensions', 'public')
UNION ALL
SELECT 'function ' || p.oid::regprocedure || ' ' || pg_get_userbyid(p.proowner) || ' '
       || coalesce(p.proacl::text, '') || ' ' || md5(p.prosrc)
           || coalesce(array_to_string(p.proconfig, ','), '')
  FROM pg_proc p WHERE p.pronamespace = 'auth'::regnamespace
UNION ALL
SELECT 'relation ' || c.oid::regclass || ' ' || pg_get_userbyid(c.relowner) || ' rls='
    || c.relrowsecurity
       || ' ' || coalesce(c.relacl::text, '')
  FROM pg_class c WHERE c.relnamespace = 'auth'::regnamespace
      OR c.oid = 'public.other_app_notes'::regclass
UNION ALL
SELECT 'column ' || a.attrelid::regclass || '.' || a.attname || ' '
    || format_type(a.atttypid, a.atttypmod)
  FROM pg_attribute a WHERE a.attrelid = 'auth.users'::regclass AND a.attnum > 0
UNION ALL
SELECT 'trigger ' || t.tgname FROM pg_trigger t
 WHERE t.tgrelid IN ('auth.users'::regclass, 'public.other_app_notes'::regclass)
     AND NOT t.tgisinternal
UNION ALL
SELECT 'default acl ' || pg_get_userbyid(d.defaclrole) || ' '
    || coalesce(d.defaclnamespace::regnamespace::text, '*')
       || ' ' || d.defaclobjtype::text || ' ' || d.defaclacl::text FROM pg_default_acl d
UNION ALL
SELECT 'event trigger ' || e.evtname FROM pg_event_trigger e
"""


def _not_ours(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute(_NOT_OURS)}


def _admin_url(services_env) -> str:
    return database_on(services_env["DATABASE_URL"], "postgres")


@pytest.mark.parametrize("expose", [False, True], ids=["secure-by-default", "expose-new-tables"])
def test_migrations_apply_as_postgres_and_touch_nothing_that_is_not_the_projects(
    services_env, expose: bool
) -> None:
    with supabase_database(_admin_url(services_env), expose_new_tables=expose) as database:
        before = _not_ours(database.superuser_url)
        with connect(autocommit=True, dsn=database.url) as conn:
            assert conn.execute(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchone() == {"rolsuper": False}
            applied = migrate(conn)
            assert applied[0].replaces  # a fresh database: the baseline
            assert conn.execute("SELECT public.omni_on_supabase() AS s").fetchone() == {"s": True}
            extensions = {
                r["extname"]: r["schema"]
                for r in conn.execute(
                    "SELECT extname, extnamespace::regnamespace::text AS schema FROM pg_extension "
                    "WHERE extname IN ('vector', 'pg_trgm')"
                )
            }
            assert extensions == {"vector": "extensions", "pg_trgm": "extensions"}
            assert migrate(conn) == []
        after = _not_ours(database.superuser_url)
    assert (sorted(before - after), sorted(after - before)) == ([], [])


def test_the_old_first_migration_fails_here_as_on_supabase(services_env, tmp_path) -> None:
    """The reason for the baseline: 0001 as applied before cannot create auth.users where `auth` is
    Supabase Auth's (Postgres checks CREATE on the schema before IF NOT EXISTS)."""
    first = next(m for m in discover() if m.version == "0001")
    shutil.copy(first.path, tmp_path)
    with (
        supabase_database(_admin_url(services_env)) as database,
        connect(autocommit=True, dsn=database.url) as conn,
        pytest.raises(MigrationError, match="permission denied for schema auth"),
    ):
        migrate(conn, tmp_path)


def test_vector_and_trigram_sql_work_with_the_extensions_schema(supabase) -> None:
    """The project's SQL finds vector and pg_trgm in `extensions` through the connection's
    search path, whatever the role's own (a role without one: service_role-like logins)."""
    with connect(autocommit=True, dsn=supabase.url) as conn:
        conn.execute("SET search_path = public")  # as a role configured with public only
        assert conn.execute("SELECT to_regtype('vector') AS t").fetchone() == {"t": None}
    with connect(autocommit=True, dsn=supabase.url) as conn:
        truncate_all(conn)
        assert "extensions" in conn.execute("SHOW search_path").fetchone()["search_path"]
        tenant = build_world(conn, "alice")
        vector = [0.1] * 1536
        conn.execute(
            "UPDATE page_embeddings SET embedding = %s::vector, chunk_text = 'refund policy'",
            (str(vector),),
        )
        domain = conn.execute(
            "SELECT domain FROM domains WHERE id = %s", (tenant["domain"],)
        ).fetchone()
        hits = conn.execute(
            "SELECT id, similarity FROM search_embeddings(%s::vector, %s, 5)",
            (str(vector), domain["domain"]),
        ).fetchall()
        assert [h["id"] for h in hits] == [tenant.rows["page_embeddings"]]
        assert hits[0]["similarity"] == pytest.approx(1.0)
        stored = conn.execute(
            "SELECT embedding, embedding <=> embedding AS d FROM page_embeddings"
        ).fetchone()
        assert not isinstance(stored["embedding"], str) and stored["d"] == 0  # pgvector registered
        assert conn.execute("SELECT similarity('refund', 'refunds') > 0.5 AS close").fetchone()[
            "close"
        ]


@pytest.mark.parametrize("table", ["domain_claims", "catalog_sources", "page_embeddings"])
def test_api_roles_through_authenticator(supabase, table: str) -> None:
    """As PostgREST runs requests (authenticator, set_config of role and claims): a tenant sees its
    own rows only and cannot TRUNCATE; anon sees nothing; a tenant cannot mark its claim
    verified."""
    with connect(autocommit=True, dsn=supabase.url) as conn:
        truncate_all(conn)
        alice, bob = build_world(conn, "alice"), build_world(conn, "bob")
    claims = {"sub": str(alice["user"]), "role": "authenticated"}
    with psycopg.connect(supabase.authenticator_url, autocommit=True) as api:
        assert api.execute(
            "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (False,)
        with api_request(api, "authenticated", claims):
            seen = {r[0] for r in api.execute(f"SELECT id FROM public.{table}")}
            assert seen == {alice.rows[table]}
        with pytest.raises(errors.InsufficientPrivilege), api_request(api, "authenticated", claims):
            api.execute(f"TRUNCATE public.{table}")
        with pytest.raises(errors.InsufficientPrivilege), api_request(api, "anon"):
            api.execute(f"SELECT id FROM public.{table}")
        if table == "domain_claims":
            with (
                pytest.raises(errors.InsufficientPrivilege),
                api_request(api, "authenticated", claims),
            ):
                api.execute(
                    "UPDATE public.domain_claims SET status = 'verified' WHERE id = %s",
                    (alice.rows[table],),
                )
    assert bob.rows[table]


def test_other_apps_table_keeps_its_default_privileges(supabase) -> None:
    """Another application's table is left as the project's defaults made it."""
    with connect(autocommit=True, dsn=supabase.url) as conn:
        for table in OTHER_APP_TABLES:
            row = conn.execute(
                "SELECT relrowsecurity AS rls, has_table_privilege('anon', %s, 'TRUNCATE') AS t "
                "FROM pg_class WHERE oid = %s::regclass",
                (table, table),
            ).fetchone()
            assert row == {"rls": False, "t": True}


def test_customer_add_links_the_supabase_auth_user(supabase, omni_cli) -> None:
    env = {"DATABASE_URL": supabase.url}
    with connect(autocommit=True, dsn=supabase.url) as conn:
        truncate_all(conn)
    missing = omni_cli("customer", "add", "owner@shop.test", env=env)
    assert missing.returncode == 1
    lines = missing.stderr.strip().splitlines()
    assert len(lines) == 1 and "no Supabase Auth user has the email owner@shop.test" in lines[0]
    assert "--auth-user-id" in lines[0]

    user_id = create_auth_user(supabase.url, "owner@shop.test")
    linked = omni_cli("customer", "add", "Owner@Shop.test", "--company", "Shop", env=env)
    assert linked.returncode == 0, linked.stderr
    added = omni_cli("domain", "add", "shop.test", "--customer", "owner@shop.test", env=env)
    assert added.returncode == 0, added.stderr

    other = create_auth_user(supabase.url, "ops@shop.test")
    by_id = omni_cli("customer", "add", "billing@shop.test", "--auth-user-id", str(other), env=env)
    assert by_id.returncode == 0, by_id.stderr
    unknown = omni_cli(
        "customer",
        "add",
        "x@shop.test",
        "--auth-user-id",
        "00000000-0000-0000-0000-000000000001",
        env=env,
    )
    assert unknown.returncode == 1 and "no auth user with id" in unknown.stderr
    with connect(autocommit=True, dsn=supabase.url) as conn:
        assert (
            conn.execute("SELECT count(*) AS n FROM auth.users").fetchone()["n"] == 2
        )  # none inserted
        rows = {
            r["email"]: r["auth_user_id"]
            for r in conn.execute("SELECT email, auth_user_id FROM customers")
        }
        assert rows == {"owner@shop.test": user_id, "billing@shop.test": other}
        assert conn.execute(
            "SELECT user_id FROM domains WHERE domain = 'shop.test'"
        ).fetchone() == {"user_id": user_id}

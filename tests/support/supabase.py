"""A Supabase-shaped database on the embedded server (docs/schema.md#supabase).

The SQL in tests/support/supabase/ reproduces what a Supabase project's database looks like to
this project's migrations and to the chat app's requests, as ../shared/supabase-kit documents it
(built from Supabase's published SQL): Supabase's roles (`postgres` NOSUPERUSER CREATEROLE
BYPASSRLS, here `supa_postgres` because the embedded server's superuser has the name;
`authenticator` switching to anon, authenticated or service_role), `auth` owned by
supabase_auth_admin with Supabase Auth's auth.users and request functions, the `extensions`
schema, and the default privileges for new tables (the 2026 secure-by-default, or the older
grant-everything with `expose_new_tables`). Another application's table sits in public.
Nothing here reads ../shared at run time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.support.environment import fresh_database

SQL_DIR = Path(__file__).parent / "supabase"
MIGRATING_ROLE = "supa_postgres"
OTHER_APP_TABLES = frozenset({"other_app_notes"})
# What PostgREST sets per request (the search path is its db-schemas + db-extra-search-path).
API_SEARCH_PATH = "public, public, extensions"


@dataclass(frozen=True)
class SupabaseDatabase:
    url: str  # as supa_postgres: a user's DATABASE_URL
    superuser_url: str  # the platform's own access (supabase_admin's part)
    authenticator_url: str  # what PostgREST logs in as
    auth_admin_url: str  # what Supabase Auth runs as


def role_url(url: str, role: str) -> str:
    """`url` for another role of the same server (all share the superuser's password here)."""
    return make_conninfo(url, user=role)


@contextmanager
def supabase_database(
    admin_url: str, *, expose_new_tables: bool = False
) -> Iterator[SupabaseDatabase]:
    """A fresh Supabase-shaped database (not migrated) on the server of `admin_url`; dropped
    after."""
    password = conninfo_to_dict(admin_url)["password"]
    with psycopg.connect(admin_url, autocommit=True) as admin, admin.transaction():
        admin.execute((SQL_DIR / "roles.sql").read_text())
        for role in ("authenticator", "supabase_auth_admin", MIGRATING_ROLE):
            admin.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
    with fresh_database(admin_url, "omni_supabase") as superuser_url:
        name = conninfo_to_dict(superuser_url)["dbname"]
        with psycopg.connect(superuser_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                    sql.Identifier(name), sql.Identifier(MIGRATING_ROLE)
                )
            )
            conn.execute(
                sql.SQL(
                    'ALTER ROLE {} IN DATABASE {} SET search_path = "$user", public, extensions'
                ).format(sql.Identifier(MIGRATING_ROLE), sql.Identifier(name))
            )
            with conn.transaction():
                conn.execute((SQL_DIR / "project.sql").read_text())
                if not expose_new_tables:
                    conn.execute((SQL_DIR / "secure_by_default.sql").read_text())
                conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(MIGRATING_ROLE)))
                conn.execute((SQL_DIR / "other_app.sql").read_text())
        yield SupabaseDatabase(
            url=role_url(superuser_url, MIGRATING_ROLE),
            superuser_url=superuser_url,
            authenticator_url=role_url(superuser_url, "authenticator"),
            auth_admin_url=role_url(superuser_url, "supabase_auth_admin"),
        )


def create_auth_user(url: str, email: str) -> Any:
    """A user signed up through Supabase Auth (it runs as supabase_auth_admin and gives the id)."""
    with psycopg.connect(role_url(url, "supabase_auth_admin"), autocommit=True) as conn:
        return conn.execute(
            "INSERT INTO auth.users (instance_id, id, aud, role, email, created_at, updated_at) "
            "VALUES ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', "
            "'authenticated', %s, now(), now()) RETURNING id",
            (email,),
        ).fetchone()[0]


@contextmanager
def api_request(
    conn: psycopg.Connection, role: str, claims: dict[str, Any] | None = None
) -> Iterator[psycopg.Connection]:
    """One request as PostgREST runs it on an `authenticator` connection: a transaction whose
    search_path, role and request.jwt.claims are set with set_config(..., true); rolled back."""
    with conn.transaction(force_rollback=True):
        conn.execute(
            "SELECT set_config('search_path', %s, true), set_config('role', %s, true), "
            "set_config('request.jwt.claims', %s, true)",
            (API_SEARCH_PATH, role, json.dumps(claims or {"role": role})),
        )
        yield conn

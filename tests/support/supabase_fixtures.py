"""Migrated Supabase-shaped databases (tests/support/supabase.py): built once per pytest run and
variant, on first use."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import psycopg
import pytest

from db.connection import connect
from db.migrate import migrate
from tests.support.environment import database_on
from tests.support.supabase import SupabaseDatabase, supabase_database
from tests.support.tenants import truncate_all

VARIANTS = ("secure-by-default", "expose-new-tables")


@pytest.fixture(scope="session")
def supabase_databases(services_env) -> Iterator[Callable[[str], SupabaseDatabase]]:
    """variant -> a Supabase-shaped database migrated as supa_postgres (Supabase's `postgres`)."""

    admin_url = database_on(services_env["DATABASE_URL"], "postgres")
    built: dict[str, SupabaseDatabase] = {}
    with ExitStack() as stack:

        def get(variant: str) -> SupabaseDatabase:
            if variant not in built:
                database = stack.enter_context(
                    supabase_database(admin_url, expose_new_tables=variant == "expose-new-tables")
                )
                with connect(autocommit=True, dsn=database.url) as conn:
                    migrate(conn)
                built[variant] = database
            return built[variant]

        yield get


@pytest.fixture(params=VARIANTS)
def supabase(supabase_databases, request) -> SupabaseDatabase:
    """Each variant of Supabase project: the 2026 secure-by-default privileges, and the older
    grant-everything ones (SUPABASE_EXPOSE_NEW_TABLES=1 in the kit)."""
    return supabase_databases(request.param)


@pytest.fixture
def supabase_db(supabase_databases) -> Iterator[psycopg.Connection]:
    """Like `db`, on the secure-by-default Supabase database, connected as supa_postgres."""

    with connect(autocommit=True, dsn=supabase_databases("secure-by-default").url) as conn:
        truncate_all(conn)
        yield conn


def database_param_dsn(request: pytest.FixtureRequest) -> str | None:
    """For a fixture parametrised over ["postgres", "supabase"]: None (the plain test database)
    or the secure-by-default Supabase-shaped database's URL."""
    if request.param == "supabase":
        return request.getfixturevalue("supabase_databases")("secure-by-default").url
    return None

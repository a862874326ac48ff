"""Set-up shared by the tests and the benchmarks: throw-away databases and patched environments."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import psycopg

from core.config import reload_settings
from db.connection import close_pool, connect
from db.migrate import migrate


@contextmanager
def fresh_database(admin_url: str, prefix: str) -> Iterator[str]:
    """Create an empty database on the server of `admin_url`, yield its URL, drop it afterwards."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def patched_environ(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) environment variables and reload the settings; restore both
    after."""

    saved = {key: os.environ.get(key) for key in values}
    _apply(values)
    reload_settings()
    try:
        yield
    finally:
        _apply(saved)
        reload_settings()


@contextmanager
def migrated_environ(values: Mapping[str, str | None]) -> Iterator[None]:
    """`patched_environ`, with the database at DATABASE_URL migrated first and this process's
    connection pool closed afterwards."""
    with patched_environ(values):
        with connect(autocommit=True) as conn:
            migrate(conn)
        try:
            yield
        finally:
            close_pool()


def _apply(values: Mapping[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value

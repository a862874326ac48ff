"""Connections to Postgres. One pool per process (workers fork: a pool never crosses a fork)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from pgvector.psycopg import register_vector
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from core.config import get_settings
from core.endpoints import database_url

_pool: ConnectionPool | None = None
_pool_pid: int | None = None
_pool_lock = threading.Lock()


# On Supabase the vector and pg_trgm extensions live in the `extensions` schema: the project's SQL
# (::vector casts, <=>, vector_cosine_ops, similarity()) and pgvector's type registration find
# them through the search path. A schema that does not exist (plain Postgres) is skipped.
SEARCH_PATH = "public,extensions"


def with_search_path(dsn: str) -> str:
    """`dsn` with `-c search_path=public,extensions` added to its options, unless they set one."""
    options = conninfo_to_dict(dsn).get("options") or ""
    if "search_path" in options:
        return dsn
    return make_conninfo(dsn, options=f"{options} -c search_path={SEARCH_PATH}".strip())


def _configure(conn: psycopg.Connection) -> None:
    try:
        register_vector(conn)
    except psycopg.ProgrammingError:
        pass  # the vector extension is not installed yet (before the first migration)


def connect(autocommit: bool = False, dsn: str | None = None) -> psycopg.Connection:
    """A new connection with dict rows and pgvector types registered."""
    conn = psycopg.connect(with_search_path(dsn or database_url()), autocommit=autocommit,
                           row_factory=dict_row)
    _configure(conn)
    return conn


def get_pool() -> ConnectionPool:
    """This process's pool (created on first use, recreated after a fork)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            settings = get_settings()
            _pool = ConnectionPool(
                with_search_path(database_url(settings)),
                min_size=1,
                max_size=settings.db_pool_size,
                kwargs={"row_factory": dict_row},
                configure=_configure,
                check=ConnectionPool.check_connection,
                open=True,
                name=f"omni-{os.getpid()}",
            )
            _pool_pid = os.getpid()
        return _pool


@contextmanager
def transaction() -> Iterator[psycopg.Connection]:
    """A pooled connection inside one transaction (committed on success, rolled back on error)."""
    with get_pool().connection() as conn:
        yield conn


def close_pool() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None and _pool_pid == os.getpid():
            _pool.close()
        _pool = None

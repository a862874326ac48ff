"""Connections to Postgres. One pool per kind of work per process (workers fork: a pool never
crosses a fork).

Every connection carries session limits (settings in core/config.py, the README's table), so a
paused or dead process can delay another by at most these: `idle_in_transaction_session_timeout`
and `lock_timeout` everywhere, and a `statement_timeout` suited to the kind of work: a job's
statements (COPY of a page group's vectors, the stage writes), interactive reads (CLI, scheduler,
dashboard), maintenance (migrations, `CREATE INDEX CONCURRENTLY`: no statement or lock limit,
they may wait their turn).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import cast

import psycopg
from pgvector.psycopg import register_vector
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from core.config import Settings, get_settings
from core.endpoints import database_url

# A connection of this project: its rows are dicts (`connect`, the pools).
Conn = psycopg.Connection[DictRow]


def one(cursor: psycopg.Cursor[DictRow]) -> DictRow:
    """The row a statement always returns (`INSERT ... RETURNING`, an aggregate, a lock try);
    none is a bug, said so."""
    row = cursor.fetchone()
    if row is None:
        raise LookupError("the statement returned no row")
    return row


class Work(StrEnum):
    JOB = "job"  # the workers' and the crawl's writes
    INTERACTIVE = "interactive"  # the CLI, the scheduler, the dashboard
    MAINTENANCE = "maintenance"  # migrations, index builds


_pools: dict[Work, ConnectionPool[Conn]] = {}
_pool_pid: int | None = None
_pool_lock = threading.Lock()


# On Supabase the vector and pg_trgm extensions live in the `extensions` schema: the project's SQL
# (::vector casts, <=>, vector_cosine_ops, similarity()) and pgvector's type registration find
# them through the search path. A schema that does not exist (plain Postgres) is skipped.
SEARCH_PATH = "public,extensions"


def with_search_path(dsn: str) -> str:
    """`dsn` with `-c search_path=public,extensions` added to its options, unless they set one."""
    options = str(conninfo_to_dict(dsn).get("options") or "")
    if "search_path" in options:
        return dsn
    return make_conninfo(dsn, options=f"{options} -c search_path={SEARCH_PATH}".strip())


def session_limits(work: Work, settings: Settings) -> dict[str, int]:
    """The session's limits in milliseconds (0 = none)."""
    statement = {
        Work.JOB: settings.db_job_statement_timeout_s,
        Work.INTERACTIVE: settings.db_interactive_statement_timeout_s,
        Work.MAINTENANCE: 0,
    }[work]
    return {
        "idle_in_transaction_session_timeout": settings.db_idle_in_transaction_timeout_s * 1000,
        "lock_timeout": 0 if work == Work.MAINTENANCE else settings.db_lock_timeout_s * 1000,
        "statement_timeout": statement * 1000,
    }


def _options(dsn: str, work: Work, settings: Settings) -> str:
    """libpq `options` for the limits, after any the URL already has (ours win)."""
    given = conninfo_to_dict(dsn).get("options") or ""
    ours = " ".join(f"-c {name}={value}" for name, value in session_limits(work, settings).items())
    return f"{given} {ours}".strip()


def _configure(conn: Conn) -> None:
    # the vector extension is not installed yet before the first migration
    with contextlib.suppress(psycopg.ProgrammingError):
        register_vector(conn)


def connect(
    autocommit: bool = False, dsn: str | None = None, work: Work = Work.INTERACTIVE
) -> Conn:
    """A new connection with dict rows, pgvector types registered and the limits of `work`."""
    settings = get_settings()
    dsn = with_search_path(dsn or database_url(settings))
    conn = psycopg.connect(
        dsn, autocommit=autocommit, row_factory=dict_row, options=_options(dsn, work, settings)
    )
    _configure(conn)
    return conn


def get_pool(work: Work = Work.JOB) -> ConnectionPool[Conn]:
    """This process's pool for `work` (created on first use, recreated after a fork)."""
    global _pool_pid
    with _pool_lock:
        if _pool_pid != os.getpid():
            _pools.clear()
            _pool_pid = os.getpid()
        if work not in _pools:
            settings = get_settings()
            dsn = with_search_path(database_url(settings))
            _pools[work] = ConnectionPool(
                dsn,
                connection_class=cast("type[Conn]", psycopg.Connection),  # its rows: dict_row
                min_size=1,
                max_size=settings.db_pool_size,
                kwargs={"row_factory": dict_row, "options": _options(dsn, work, settings)},
                configure=_configure,
                check=ConnectionPool.check_connection,
                open=True,
                name=f"omni-{work}-{os.getpid()}",
            )
        return _pools[work]


@contextmanager
def transaction() -> Iterator[Conn]:
    """A pooled connection inside one transaction (committed on success, rolled back on error)."""
    with get_pool().connection() as conn:
        yield conn


class Dedicated:
    """A background thread's own connection (the lease renewer's, the worker beat's): outside
    the pools, so it never waits behind the connections the work holds; opened on first use and
    again after it broke (a Postgres restart)."""

    def __init__(self, work: Work = Work.JOB, autocommit: bool = True) -> None:
        self.work, self.autocommit = work, autocommit
        self._conn: Conn | None = None

    @contextmanager
    def use(self) -> Iterator[Conn]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = connect(autocommit=self.autocommit, work=self.work)
        try:
            yield self._conn
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def close_pool() -> None:
    with _pool_lock:
        if _pool_pid == os.getpid():
            for pool in _pools.values():
                pool.close()
        _pools.clear()

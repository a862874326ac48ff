"""Set-up shared by the tests and the benchmarks: throw-away databases and patched environments."""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import psycopg

from core.config import Settings, reload_settings
from db.connection import close_pool, connect
from db.migrate import migrate
from interfaces import services
from tests.support.watchdog import stop_on_exit


@contextmanager
def fresh_database(admin_url: str, prefix: str, template: str | None = None) -> Iterator[str]:
    """Create an empty database on the server of `admin_url` (or a copy of the database
    `template`, which nobody may be connected to), yield its URL, drop it afterwards."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield database_on(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


T = TypeVar("T")


@contextmanager
def template_database(
    admin_url: str, build: Callable[[psycopg.Connection], T]
) -> Iterator[tuple[str, T]]:
    """A database migrated and filled by `build` once (for a module's tests, whose set-up would
    otherwise repeat it), to be copied by `database_copy`; its name and what `build` returned.
    Dropped afterwards."""
    with fresh_database(admin_url, "omni_template") as url:
        with connect(autocommit=True, dsn=url) as conn:
            migrate(conn)
        with connect(autocommit=True, dsn=url) as conn:  # the vector type known from the start
            built = build(conn)
        yield url.rsplit("/", 1)[1], built  # its name


@contextmanager
def database_copy(admin_url: str, template: str) -> Iterator[psycopg.Connection]:
    """A test's own copy of the database `template` (milliseconds: files copied, not rows
    written), which is also this process's DATABASE_URL meanwhile (for code that connects by
    the settings, and subprocesses); an autocommit connection to it. Dropped afterwards."""
    with fresh_database(admin_url, "omni_copy", template=template) as url:
        close_pool()
        try:
            with (
                patched_environ({"DATABASE_URL": url}),
                connect(autocommit=True, dsn=url) as conn,
            ):
                yield conn
        finally:
            close_pool()


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


USERS_LOCK = ".postgres-users.lock"


@contextmanager
def postgres_user(data_dir: Path, stop: Callable[[], object]) -> Iterator[None]:
    """A shared lock on the data dir's server while this session (a test run, a benchmark) uses
    it; at the end, if no other session holds one (the exclusive lock is granted), the server is
    stopped under it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / USERS_LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            yield
        finally:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass  # another session still uses it; the last one out stops it
            else:
                stop()
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def suite_postgres(data_dir: Path) -> Iterator[str]:
    """The embedded Postgres of `data_dir` (the suite's, `.omni-test`), started if need be and
    held as one of its users while a test session or a benchmark works on it, so that another
    one ending meanwhile does not stop it; the last user out stops it, or the watchdog
    (tests/support/watchdog.py) once no user is left, however this process ends. Yields the URL
    of its `postgres` database (for `fresh_database`)."""
    base = Settings(OMNI_DATA_DIR=data_dir, DATABASE_URL=None, REDIS_URL=None)
    with postgres_user(data_dir, lambda: services.down(base)):
        stop_on_exit(services.EmbeddedPostgres(data_dir), users_lock=data_dir / USERS_LOCK)
        yield database_on(services.database_url(base), "postgres")


def database_on(url: str, name: str) -> str:
    """The URL of the database `name` on the server of `url`."""
    return url.rsplit("/", 1)[0] + f"/{name}"


@contextmanager
def private_redis(directory: Path) -> Iterator[str]:
    """An embedded Redis of this process's own (a test session's, a benchmark's), in
    `directory`: stopped when the
    block ends, or by the watchdog (tests/support/watchdog.py) however this process ends, a
    SIGTERM or SIGKILL included. Yields its URL."""
    redis = services.EmbeddedRedis(directory)
    stop_on_exit(redis)
    try:
        yield redis.start()
    finally:
        redis.stop()

"""Real services for the tests: the embedded Postgres (one server, a fresh database per pytest
run, so concurrent runs never collide) and a private embedded Redis per run. Nothing outlives
the suite: the last session using the embedded Postgres stops it when it ends (sessions hold a
shared lock on it while they use it; xdist workers and concurrent runs are sessions each).
SIGTERM ends a session the way Ctrl-C does (its fixtures are torn down), an xdist worker gets
SIGTERM when the pytest process that started it dies, and a watchdog stops what a session
started if it dies before its teardown, SIGKILLed say (tests/support/watchdog.py).

DATABASE_URL and REDIS_URL are exported, so subprocesses (workers, crawls, the CLI) that the
tests start use the same database and Redis.
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
import pytest
import redis

from core import processes
from db.connection import connect
from tests.support.environment import (
    fresh_database,
    migrated_environ,
    private_redis,
    suite_postgres,
)
from tests.support.paths import TEST_DATA_DIR
from tests.support.tenants import truncate_all

# Fixtures shared across the test tree (the tree mirrors the source; fixtures do not).
pytest_plugins = [
    "tests.support.crawl_fixtures",
    "tests.support.document_fixtures",
    "tests.support.catalog_fixtures",
    "tests.support.extract_fixtures",
    "tests.support.privacy_fixtures",
    "tests.support.tenant_fixtures",
    "tests.support.supabase_fixtures",
    "tests.support.worker_fixtures",
]


def pytest_configure(config: pytest.Config) -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    if hasattr(config, "workerinput"):  # an xdist worker: its parent is the pytest process
        processes.die_with(os.getppid(), signal.SIGTERM)


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM as Ctrl-C: pytest stops and tears its fixtures down (the servers they started).
    A second SIGTERM ends the process at once (its watchdog then stops the servers)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def services_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:

    with ExitStack() as session:
        admin_url = session.enter_context(suite_postgres(TEST_DATA_DIR))
        _throwaway_durability(admin_url)
        database_url = session.enter_context(fresh_database(admin_url, "omni_test"))
        yield from _session_env(database_url, tmp_path_factory)


def _throwaway_durability(admin_url: str) -> None:
    """The test server's data is thrown away, so it need not survive an OS crash: without fsync
    the checkpoint every DROP DATABASE forces (the scratch databases' teardown) takes
    milliseconds instead of tens of seconds on a busy disk. A Postgres crash or restart (the
    fault tests) still recovers from the WAL, which is all those tests rely on."""
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for name, value in (
            ("fsync", "off"),
            ("synchronous_commit", "off"),
            ("full_page_writes", "off"),
        ):
            admin.execute(f"ALTER SYSTEM SET {name} = {value}")
        admin.execute("SELECT pg_reload_conf()")


def _session_env(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:

    unset = {"OMNI_ENCRYPTION_KEY": None, "OPENAI_API_KEY": None, "OPENAI_BASE_URL": None}
    with ExitStack() as stack:
        env = {
            "DATABASE_URL": database_url,
            "REDIS_URL": stack.enter_context(private_redis(tmp_path_factory.mktemp("redis"))),
            "OMNI_DATA_DIR": str(TEST_DATA_DIR),
            "OMNI_ALLOW_PRIVATE_NETWORKS": "1",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }
        # Roles are cluster-wide: two xdist workers migrating their fresh databases at once on
        # a new cluster would both create `anon`. One migrates at a time.
        with _file_lock(TEST_DATA_DIR / ".migrate.lock"):
            stack.enter_context(migrated_environ({**env, **unset}))
        yield env


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture
def db(postgres_db: psycopg.Connection) -> psycopg.Connection:
    """An autocommit connection to a migrated, emptied test database."""
    return postgres_db


@pytest.fixture
def postgres_db(services_env: dict[str, str]) -> Iterator[psycopg.Connection]:
    """`db` under the name tests use that choose between it and `supabase_db`."""

    with connect(autocommit=True) as conn:
        truncate_all(conn)
        yield conn


@pytest.fixture
def redis_client(services_env: dict[str, str]):

    client = redis.Redis.from_url(services_env["REDIS_URL"])
    client.flushdb()
    yield client
    client.close()

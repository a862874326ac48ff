"""Real services for the tests: the embedded Postgres (one server, a fresh database per pytest
run, so concurrent runs never collide) and a private embedded Redis per run.

DATABASE_URL and REDIS_URL are exported, so subprocesses (workers, crawls, the CLI) that the
tests start use the same database and Redis.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
import pytest

from tests.support.environment import fresh_database, migrated_environ
from tests.support.paths import TEST_DATA_DIR

# Fixtures shared across the test tree (the tree mirrors the source; fixtures do not).
pytest_plugins = [
    "tests.support.crawl_fixtures",
    "tests.support.document_fixtures",
    "tests.support.catalog_fixtures",
    "tests.support.extract_fixtures",
    "tests.support.tenant_fixtures",
    "tests.support.worker_fixtures",
]


@pytest.fixture(scope="session")
def services_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    from omni import services
    from omni.config import Settings

    base = Settings(OMNI_DATA_DIR=TEST_DATA_DIR, DATABASE_URL=None, REDIS_URL=None)
    admin_url = services.database_url(base).rsplit("/", 1)[0] + "/postgres"
    redis = services.EmbeddedRedis(tmp_path_factory.mktemp("redis"))

    with fresh_database(admin_url, "omni_test") as database_url:
        env = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis.start(),
            "OMNI_DATA_DIR": str(TEST_DATA_DIR),
            "OMNI_ALLOW_PRIVATE_NETWORKS": "1",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }
        unset = {"OMNI_ENCRYPTION_KEY": None, "OPENAI_API_KEY": None, "OPENAI_BASE_URL": None}
        try:
            with ExitStack() as stack:
                # Roles are cluster-wide: two xdist workers migrating their fresh databases at
                # once on a new cluster would both create `anon`. One migrates at a time.
                with _file_lock(TEST_DATA_DIR / ".migrate.lock"):
                    stack.enter_context(migrated_environ({**env, **unset}))
                yield env
        finally:
            redis.stop()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def truncate_all(conn: psycopg.Connection) -> None:
    tables = [r["tablename"] if isinstance(r, dict) else r[0] for r in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
    ).fetchall()]
    if tables:
        conn.execute("TRUNCATE " + ", ".join(f'public."{t}"' for t in tables) + " CASCADE")
    conn.execute("DELETE FROM auth.users")
    # Per-domain vector indexes follow the data (db/vector_indexes.py): the emptied table has none.
    for r in conn.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = to_regclass('public.page_embeddings') "
            "AND c.relname LIKE 'idx\\_page\\_embeddings\\_vector\\_d\\_%'").fetchall():
        name = r["relname"] if isinstance(r, dict) else r[0]
        conn.execute(f'DROP INDEX public."{name}"')


@pytest.fixture
def db(services_env: dict[str, str]) -> Iterator[psycopg.Connection]:
    """An autocommit connection to a migrated, emptied test database."""
    from db.connection import connect

    with connect(autocommit=True) as conn:
        truncate_all(conn)
        yield conn


@pytest.fixture
def redis_client(services_env: dict[str, str]):
    import redis

    client = redis.Redis.from_url(services_env["REDIS_URL"])
    client.flushdb()
    yield client
    client.close()

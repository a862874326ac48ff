"""Real services for the tests: the embedded Postgres (one server, a fresh database per pytest
run, so concurrent runs never collide) and a private embedded Redis per run.

DATABASE_URL and REDIS_URL are exported, so subprocesses (workers, crawls, the CLI) that the
tests start use the same database and Redis.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import psycopg
import pytest

REPO = Path(__file__).resolve().parent.parent
TEST_DATA_DIR = REPO / ".omni-test"


@pytest.fixture(scope="session")
def services_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    from omni import services
    from omni.config import Settings, reload_settings

    base = Settings(OMNI_DATA_DIR=TEST_DATA_DIR, DATABASE_URL=None, REDIS_URL=None)
    admin_url = services.database_url(base).rsplit("/", 1)[0] + "/postgres"
    db_name = f"omni_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{db_name}"')
    database_url = admin_url.rsplit("/", 1)[0] + f"/{db_name}"

    redis = services.EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    redis_url = redis.start()

    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "OMNI_DATA_DIR": str(TEST_DATA_DIR),
        "OMNI_ALLOW_PRIVATE_NETWORKS": "1",
        "OMNI_ENCRYPTION_KEY": "",
        "OPENAI_API_KEY": "",
        "OPENAI_BASE_URL": "",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    for key in ("OMNI_ENCRYPTION_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        os.environ.pop(key, None)
    reload_settings()

    from db.connection import close_pool, connect
    from db.migrate import migrate

    with connect(autocommit=True) as conn:
        migrate(conn)
    try:
        yield env
    finally:
        close_pool()
        redis.stop()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reload_settings()


def truncate_all(conn: psycopg.Connection) -> None:
    tables = [r["tablename"] if isinstance(r, dict) else r[0] for r in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
    ).fetchall()]
    if tables:
        conn.execute("TRUNCATE " + ", ".join(f'public."{t}"' for t in tables) + " CASCADE")
    conn.execute("DELETE FROM auth.users")


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

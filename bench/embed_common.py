"""Shared set-up for the embedding and search benchmarks: a throw-away database on the embedded
test Postgres (or DATABASE_URL's server), a private Redis, and synthetic site content."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


@contextmanager
def kept_database(admin_url: str, name: str) -> Iterator[str]:
    """The database `name` on the server of `admin_url`, created if missing and never dropped
    (a benchmark re-run on data it already ingested)."""
    from tests.support.environment import database_on

    with psycopg.connect(admin_url, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')
    yield database_on(admin_url, name)


@contextmanager
def bench_env(redis: bool = True, database: str | None = None) -> Iterator[dict[str, str]]:
    """A fresh migrated database (dropped afterwards; or the kept `database`) and a private
    Redis, exported to os.environ."""
    from contextlib import ExitStack

    from tests.support.environment import (
        database_on,
        fresh_database,
        migrated_environ,
        private_redis,
        suite_postgres,
    )

    with ExitStack() as stack:
        # the test suite's server, held as one of its users (or DATABASE_URL's server)
        admin_url = (
            database_on(os.environ["DATABASE_URL"], "postgres")
            if os.environ.get("DATABASE_URL")
            else stack.enter_context(suite_postgres(REPO / ".omni-test"))
        )
        chosen = (
            kept_database(admin_url, database)
            if database
            else fresh_database(admin_url, "omni_bench")
        )
        database_url = stack.enter_context(chosen)
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="omni-bench-"))
        env = {
            "DATABASE_URL": database_url,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "OMNI_LOG_LEVEL": "WARNING",
        }
        if redis:
            env["REDIS_URL"] = stack.enter_context(private_redis(Path(tmp)))
        with migrated_environ(env):
            yield env


@contextmanager
def embedding_server(vectors: str = "hash") -> Iterator[str]:
    """The local OpenAI-compatible server in its own process (no GIL shared with the worker)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.openai_server", "--vectors", vectors],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(10)


_WORDS = None


def vocabulary(size: int = 3000, seed: int = 7) -> list[str]:
    global _WORDS
    if _WORDS is None:
        rng = random.Random(seed)
        letters = "abcdefghijklmnopqrstuvwxyz"
        _WORDS = [
            "".join(rng.choice(letters) for _ in range(rng.randint(3, 10))) for _ in range(size)
        ]
    return _WORDS


def page_markdown(rng: random.Random, paragraphs: int, words_per_paragraph: int = 70) -> str:
    words = vocabulary()
    parts = [f"# {' '.join(rng.choices(words, k=3)).title()}"]
    for i in range(paragraphs):
        if i and i % 8 == 0:
            parts.append(f"## {' '.join(rng.choices(words, k=2)).title()}")
        parts.append(" ".join(rng.choices(words, k=words_per_paragraph)) + ".")
    return "\n\n".join(parts)


def insert_pages(conn, domain_id, texts: list[str]) -> list:
    with (
        conn.cursor() as cur,
        cur.copy("COPY scraped_pages (domain_id, url, title, content, status) FROM STDIN") as copy,
    ):
        for i, text in enumerate(texts):
            copy.write_row(
                (domain_id, f"https://bench.example/p/{i}", f"Page {i}", text, "completed")
            )
    return [
        r["id"]
        for r in conn.execute(
            "SELECT id FROM scraped_pages WHERE domain_id = %s ORDER BY url", (domain_id,)
        )
    ]


def wait_jobs(conn, job_ids, timeout: float = 1800) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = conn.execute(
            "SELECT * FROM content_refresh_jobs WHERE id = ANY(%s)", (job_ids,)
        ).fetchall()
        if all(r["status"] in ("completed", "failed") for r in rows):
            return rows
        time.sleep(0.05)
    raise TimeoutError("jobs did not finish")

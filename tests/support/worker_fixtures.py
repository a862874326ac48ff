"""Fixtures for the worker tests: the local OpenAI-compatible server, the broker on the test
Redis (and what waits in its queues), a domain with pages, and an in-process Dramatiq worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dramatiq
import pytest

from db import tenants
from tests.support.environment import patched_environ
from tests.support.openai_server import OpenAIServer
from tests.support.paths import REPO, VENV_BIN
from workers.actors import setup_worker
from workers.embedding import reset_backends


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as server:
        yield server


@contextmanager
def settings_env(**values: str) -> Iterator[None]:
    """Set environment variables, reload settings and forget cached backends; then restore."""

    with patched_environ(values):
        reset_backends()
        try:
            yield
        finally:
            reset_backends()


@pytest.fixture
def openai_env(openai_server: OpenAIServer, services_env) -> Iterator[OpenAIServer]:
    """The openai backend pointed at the local server (text-embedding-3-small)."""
    with settings_env(
        OPENAI_BASE_URL=openai_server.base_url,
        OPENAI_API_KEY="test-key",
        OMNI_EMBEDDING_BACKEND="openai",
        OMNI_EMBEDDING_MODEL="text-embedding-3-small",
        OMNI_CHUNK_TOKENS="120",
        OMNI_CHUNK_OVERLAP_TOKENS="15",
        OMNI_OPENAI_RETRY_BACKOFF="0.02",
    ):
        yield openai_server


@pytest.fixture
def broker(services_env, redis_client):
    """The project broker on the test Redis (flushed), with the actors declared on it."""

    broker = setup_worker(services_env["REDIS_URL"])
    yield broker
    broker.close()


def queued_job_ids(redis_client, queue: str) -> list[str]:
    """The job ids carried by the messages waiting in a Dramatiq queue (decoded from Redis)."""

    ids = redis_client.lrange(f"dramatiq:{queue}", 0, -1)
    messages = redis_client.hmget(f"dramatiq:{queue}.msgs", ids) if ids else []
    return [json.loads(m)["args"][0] for m in messages if m]


@contextmanager
def running_worker(broker, queues=("embed",), threads: int = 1):
    """An in-process Dramatiq worker (the same code paths as `dramatiq
    workers.actors:setup_worker`)."""

    worker = dramatiq.Worker(broker, queues=set(queues), worker_threads=threads, worker_timeout=100)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def make_domain(conn, domain: str = "shop.example") -> dict:

    return tenants.add_domain(conn, domain)


def add_page(conn, domain_id, url: str, title: str, content: str):
    return conn.execute(
        "INSERT INTO scraped_pages (domain_id, url, title, content, status, scraped_at) "
        "VALUES (%s, %s, %s, %s, 'completed', now()) "
        "ON CONFLICT (domain_id, url) DO UPDATE SET title = EXCLUDED.title, content = "
        "EXCLUDED.content "
        "RETURNING id",
        (domain_id, url, title, content),
    ).fetchone()["id"]


def embedding_rows(conn, page_id=None) -> list[dict]:
    if page_id is None:
        return conn.execute(
            "SELECT * FROM page_embeddings ORDER BY page_id, (metadata->>'chunk_index')::int"
        ).fetchall()
    return conn.execute(
        "SELECT * FROM page_embeddings WHERE page_id = %s ORDER BY (metadata->>'chunk_index')::int",
        (page_id,),
    ).fetchall()


def long_page(topic: str, paragraphs: int = 8) -> str:
    """Markdown with headings and paragraphs of about 40 tokens each."""
    parts = [f"# {topic.title()}", f"All about {topic}."]
    for section in range(3):
        parts.append(f"## {topic.title()} part {section}")
        for i in range(paragraphs):
            parts.append(
                f"Paragraph {section}.{i} about {topic}: the {topic} service handles "
                f"item {i} carefully, with details number {section * 100 + i} that "
                f"customers often ask about when they contact support."
            )
    return "\n\n".join(parts)


# The recovery settings scaled down for tests: a dead worker's messages come back after 1.5 s,
# its leases expire after 5 s, the sweeper runs every second and re-sends after 2 s.
FAST_RECOVERY = {
    "OMNI_BROKER_HEARTBEAT_TIMEOUT_MS": "1500",
    "OMNI_BROKER_MAINTENANCE_CHANCE": "1000000",
    "OMNI_JOB_LEASE_S": "5",
    "OMNI_JOB_SWEEP_INTERVAL_S": "1",
    "OMNI_JOB_RESEND_AFTER_S": "2",
}


@contextmanager
def worker_process(log_path: Path, queues=("embed",), **env_extra: str):
    """A real `dramatiq workers.actors:setup_worker` process group (killed with its children at the
    end).

    A dead worker's messages are handed on after 1.5 s without a heartbeat (the broker does its
    maintenance on every command here), and its jobs' leases run out in 5 s (FAST_RECOVERY)."""

    env = {
        **os.environ,
        **FAST_RECOVERY,
        "OMNI_WORKER_MIN_BACKOFF_MS": "300",
        "OMNI_WORKER_MAX_BACKOFF_MS": "2000",
        "PYTHONUNBUFFERED": "1",
        **env_extra,
    }
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [
                str(VENV_BIN / "dramatiq"),
                "workers.actors:setup_worker",
                "-p",
                "1",
                "-t",
                "1",
                "-Q",
                *queues,
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_until(predicate, timeout: float = 60.0, interval: float = 0.1, what: str = "condition"):

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")

"""The worker status middleware publishes what a real Dramatiq worker is doing in Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from uuid import uuid4

import dramatiq
import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.local import free_port
from tests.support.paths import OMNI
from workers.broker import setup_broker
from workers.dispatch import send_job
from workers.status import INDEX_KEY, WorkerStatus, read_pg_workers, read_workers


def _wait(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def test_a_busy_worker_is_visible_then_gone(broker, redis_client, db) -> None:
    """In Redis (every beat) and in Postgres (`worker_heartbeats`, every sweep interval: so
    a worker cut off from Redis is still counted); both gone at its shutdown."""
    [status] = [m for m in broker.middleware if isinstance(m, WorkerStatus)]
    status.beat_seconds = 0.1
    release, started = threading.Event(), threading.Event()

    @dramatiq.actor(queue_name="ops_status_test", broker=broker, max_retries=0)
    def slow_step(job_id: str) -> None:
        started.set()
        release.wait(10)

    worker = dramatiq.Worker(broker, queues={"ops_status_test"}, worker_threads=3)
    worker.start()
    try:
        slow_step.send("job-123")
        assert started.wait(10)
        [me] = _wait(
            lambda: [
                w for w in read_workers(redis_client) if w["pid"] == os.getpid() and w["current"]
            ]
        )
        assert me["threads"] == 3 and me["queues"] == ["ops_status_test"]
        assert me["current"][0]["actor"] == "slow_step"
        assert me["current"][0]["job_id"] == "job-123"
        [in_pg] = _wait(lambda: [w for w in read_pg_workers(db, 45) if w["pid"] == os.getpid()])
        assert in_pg["worker"] == f"{me['hostname']}:{os.getpid()}"
        assert in_pg["queues"] == ["ops_status_test"] and in_pg["threads"] == 3
        assert in_pg["redis_ok"] is True
        release.set()
        _wait(
            lambda: [
                w
                for w in read_workers(redis_client)
                if w["pid"] == os.getpid() and not w["current"] and w["processed"] == 1
            ]
        )
    finally:
        release.set()
        worker.stop()
    assert [w for w in read_workers(redis_client) if w["pid"] == os.getpid()] == []
    assert redis_client.zcard(INDEX_KEY) == 0
    assert [w for w in read_pg_workers(db, 45) if w["pid"] == os.getpid()] == []


def test_an_expired_worker_is_pruned(redis_client) -> None:
    redis_client.zadd(INDEX_KEY, {"omni:worker:ghost:1": time.time() - 60})
    assert read_workers(redis_client) == []
    assert redis_client.zcard(INDEX_KEY) == 0


def test_omni_worker_publishes_status_and_prometheus_metrics(
    services_env, redis_client, db, tmp_path
) -> None:
    """A real `omni worker` (dramatiq CLI, forked processes) with OMNI_WORKER_METRICS=1."""

    port = free_port()
    env = {
        **os.environ,
        "OMNI_WORKER_METRICS": "1",
        "dramatiq_prom_host": "127.0.0.1",
        "dramatiq_prom_port": str(port),
        "dramatiq_prom_db": str(tmp_path),
    }
    proc = subprocess.Popen(
        [str(OMNI), "worker", "--processes", "1", "--threads", "2", "--queues", "embed"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        [worker] = _wait(lambda: read_workers(redis_client), timeout=90)
        assert worker["threads"] == 2 and worker["queues"] == ["embed"] and worker["current"] == []

        # a message for a job that does not exist: processed (and dropped) by the real actor

        setup_broker(services_env["REDIS_URL"])
        send_job(uuid4(), "embed")

        def scrape():
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            except httpx.HTTPError:
                return None
            text = response.text if response.status_code == 200 else ""
            return text if 'dramatiq_messages_total{actor_name="embed_pages"' in text else None

        body = _wait(scrape, timeout=60)
        samples = {
            (s.name, s.labels.get("actor_name")): s.value
            for f in text_string_to_metric_families(body)
            for s in f.samples
        }
        assert samples[("dramatiq_messages_total", "embed_pages")] == 1
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    _wait(lambda: read_workers(redis_client) == [], timeout=30)

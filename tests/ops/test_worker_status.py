"""The worker status middleware publishes what a real Dramatiq worker is doing in Redis."""

from __future__ import annotations

import os
import threading
import time

import dramatiq

from workers.status import INDEX_KEY, WorkerStatus, read_workers


def _wait(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def test_a_busy_worker_is_visible_then_gone(broker, redis_client) -> None:
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
        [me] = _wait(lambda: [w for w in read_workers(redis_client)
                              if w["pid"] == os.getpid() and w["current"]])
        assert me["threads"] == 3 and me["queues"] == ["ops_status_test"]
        assert me["current"][0]["actor"] == "slow_step"
        assert me["current"][0]["job_id"] == "job-123"
        release.set()
        _wait(lambda: [w for w in read_workers(redis_client)
                       if w["pid"] == os.getpid() and not w["current"] and w["processed"] == 1])
    finally:
        release.set()
        worker.stop()
    assert [w for w in read_workers(redis_client) if w["pid"] == os.getpid()] == []
    assert redis_client.zcard(INDEX_KEY) == 0


def test_an_expired_worker_is_pruned(redis_client) -> None:
    redis_client.zadd(INDEX_KEY, {"omni:worker:ghost:1": time.time() - 60})
    assert read_workers(redis_client) == []
    assert redis_client.zcard(INDEX_KEY) == 0

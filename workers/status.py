"""What each worker process is doing, published in Redis (the dashboard reads it).

`WorkerStatus` is a Dramatiq middleware: from worker boot to shutdown a thread writes, every
`BEAT_SECONDS`, a hash `omni:worker:<host>:<pid>` (hostname, pid, parent pid, threads, queues,
the messages being processed now, counters, last seen) with a TTL, and indexes it in the zset
`omni:workers` (score = last seen). A worker killed without shutdown simply expires.
`read_workers(client)` returns the live ones. It has no effect in producer processes (no worker
boots there).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

from core.config import Settings

log = logging.getLogger(__name__)

KEY_PREFIX = "omni:worker:"
INDEX_KEY = "omni:workers"
BEAT_SECONDS = 2.0
TTL_SECONDS = 15


class WorkerStatus(Middleware):
    def __init__(self, beat_seconds: float = BEAT_SECONDS, ttl_seconds: int = TTL_SECONDS) -> None:
        self.beat_seconds = beat_seconds
        self.ttl_seconds = ttl_seconds
        self._lock = threading.Lock()
        self._current: dict[str, dict[str, Any]] = {}   # message id -> what it is
        self._counts = {"processed": 0, "failed": 0}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._static: dict[str, Any] = {}
        self._client = None

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}{self._static['hostname']}:{self._static['pid']}"

    # ---------------------------------------------------------------- dramatiq hooks
    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        client = getattr(broker, "client", None)
        if client is None:
            return  # not a Redis broker (e.g. a StubBroker in tests)
        self._client = client
        queues = sorted(worker.consumer_whitelist or broker.get_declared_queues())
        self._static = {
            "hostname": socket.gethostname(), "pid": os.getpid(), "ppid": os.getppid(),
            "threads": worker.worker_threads, "queues": queues, "started_at": time.time(),
        }
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat_loop, name="omni-worker-status",
                                        daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._client is not None and self._static:
            try:
                self._client.delete(self.key)
                self._client.zrem(INDEX_KEY, self.key)
            except Exception:  # noqa: BLE001, S110 - shutting down; the key expires anyway
                pass

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        with self._lock:
            self._current[message.message_id] = {
                "actor": message.actor_name, "queue": message.queue_name,
                "job_id": message.args[0] if message.args else None,
                "message_id": message.message_id, "since": time.time(),
            }

    def after_process_message(self, broker: dramatiq.Broker, message: Any, *,
                              result: Any = None, exception: BaseException | None = None) -> None:
        with self._lock:
            self._current.pop(message.message_id, None)
            self._counts["failed" if exception is not None else "processed"] += 1

    def after_skip_message(self, broker: dramatiq.Broker, message: Any) -> None:
        with self._lock:
            self._current.pop(message.message_id, None)

    # ---------------------------------------------------------------- publishing
    def snapshot(self) -> dict[str, str]:
        with self._lock:
            current = sorted(self._current.values(), key=lambda c: c["since"])
            counts = dict(self._counts)
        return {
            **{k: json.dumps(v) for k, v in self._static.items()},
            "current": json.dumps(current), "processed": str(counts["processed"]),
            "failed": str(counts["failed"]), "last_seen": str(time.time()),
        }

    def beat(self) -> None:
        pipe = self._client.pipeline()
        pipe.delete(self.key)
        pipe.hset(self.key, mapping=self.snapshot())
        pipe.expire(self.key, self.ttl_seconds)
        pipe.zadd(INDEX_KEY, {self.key: time.time()})
        pipe.execute()

    def _beat_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.beat()
            except Exception:
                log.debug("worker status beat failed", exc_info=True)
            self._stop.wait(self.beat_seconds)


def read_workers(client: Any) -> list[dict[str, Any]]:
    """The live worker processes (their hash has not expired), oldest first."""
    keys = [k.decode() if isinstance(k, bytes) else k for k in client.zrange(INDEX_KEY, 0, -1)]
    workers, gone = [], []
    for key in keys:
        raw = client.hgetall(key)
        if not raw:
            gone.append(key)
            continue
        fields = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                  for k, v in raw.items()}
        worker = {name: json.loads(fields[name]) for name in
                  ("hostname", "pid", "ppid", "threads", "queues", "started_at", "current")
                  if name in fields}
        worker.update(key=key, processed=int(fields.get("processed", 0)),
                      failed=int(fields.get("failed", 0)), last_seen=float(fields.get("last_seen", 0)))
        workers.append(worker)
    if gone:
        client.zrem(INDEX_KEY, *gone)
    return sorted(workers, key=lambda w: (w.get("hostname", ""), w.get("started_at", 0)))


def add_operations_middleware(broker: dramatiq.Broker, settings: Settings) -> None:
    """Worker status always; Dramatiq's Prometheus exporter when OMNI_WORKER_METRICS is on
    (it serves on dramatiq_prom_host:dramatiq_prom_port, default 0.0.0.0:9191, from a process
    forked by the `dramatiq` worker runner)."""
    broker.add_middleware(WorkerStatus())
    if settings.worker_metrics:
        from dramatiq.middleware.prometheus import Prometheus  # only with metrics on

        broker.add_middleware(Prometheus())

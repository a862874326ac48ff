"""What each worker process is doing, published in Redis (the dashboard reads it).

`WorkerStatus` is a Dramatiq middleware: from worker boot to shutdown a thread writes, every
`BEAT_SECONDS`, a hash `omni:worker:<host>:<pid>` (hostname, pid, parent pid, threads, queues,
the messages being processed now, counters, last seen) with a TTL, and indexes it in the zset
`omni:workers` (score = last seen). A worker killed without shutdown simply expires.
`read_workers(client)` returns the live ones. Every `OMNI_JOB_SWEEP_INTERVAL_S` the same thread
writes the process's row in Postgres (`worker_heartbeats`, so workers are counted there too,
`read_pg_workers`) and runs the sweeper (`workers/sweeper.py`). It has no effect in producer
processes (no worker boots there).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import dramatiq
import psycopg
from dramatiq.middleware import Middleware
from psycopg.types.json import Jsonb

from core.config import Settings
from db.connection import Conn, Dedicated
from workers.messages import send_on
from workers.sweeper import sweep

if TYPE_CHECKING:
    from redis import Redis
    from redis.typing import EncodableT, FieldT

log = logging.getLogger(__name__)

KEY_PREFIX = "omni:worker:"
INDEX_KEY = "omni:workers"
BEAT_SECONDS = 2.0
TTL_SECONDS = 15


class WorkerStatus(Middleware):
    def __init__(
        self,
        beat_seconds: float = BEAT_SECONDS,
        ttl_seconds: int = TTL_SECONDS,
        settings: Settings | None = None,
    ) -> None:
        self.beat_seconds = beat_seconds
        self.ttl_seconds = ttl_seconds
        self.settings = settings
        self._broker: dramatiq.Broker | None = None
        self._redis_ok: bool | None = None
        # its own connection: the beat and the sweep never wait behind the work's pooled ones
        self._pg = Dedicated(autocommit=False)
        self._lock = threading.Lock()
        self._current: dict[str, dict[str, Any]] = {}  # message id -> what it is
        self._counts = {"processed": 0, "failed": 0}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._static: dict[str, Any] = {}
        self._client: Redis | None = None

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}{self._static['hostname']}:{self._static['pid']}"

    # ---------------------------------------------------------------- dramatiq hooks
    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        client = getattr(broker, "client", None)
        if client is None:
            return  # not a Redis broker (e.g. a StubBroker in tests)
        self._client = client
        self._broker = broker
        queues = sorted(worker.consumer_whitelist or broker.get_declared_queues())
        self._static = {
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "ppid": os.getppid(),
            "threads": worker.worker_threads,
            "queues": queues,
            "started_at": time.time(),
        }
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._beat_loop, name="omni-worker-status", daemon=True
        )
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
            if self.settings is not None:
                try:
                    with self._pg.use() as conn:
                        conn.execute(
                            "DELETE FROM worker_heartbeats WHERE worker = %s", (self.worker_name,)
                        )
                        conn.commit()
                except Exception:  # noqa: BLE001, S110 - the row ages out
                    pass
                self._pg.close()

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        with self._lock:
            self._current[message.message_id] = {
                "actor": message.actor_name,
                "queue": message.queue_name,
                "job_id": message.args[0] if message.args else None,
                "message_id": message.message_id,
                "since": time.time(),
            }

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
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
            "current": json.dumps(current),
            "processed": str(counts["processed"]),
            "failed": str(counts["failed"]),
            "last_seen": str(time.time()),
        }

    def beat(self) -> None:
        assert self._client is not None, "set at worker boot, before the beat starts"
        pipe = self._client.pipeline()
        pipe.delete(self.key)
        fields: dict[FieldT, EncodableT] = {k: v for k, v in self.snapshot().items()}
        pipe.hset(self.key, mapping=fields)
        pipe.expire(self.key, self.ttl_seconds)
        pipe.zadd(INDEX_KEY, {self.key: time.time()})
        pipe.execute()

    @property
    def worker_name(self) -> str:
        return f"{self._static['hostname']}:{self._static['pid']}"

    def pg_beat(self) -> None:
        static = self._static
        with self._lock:
            current = sorted(self._current.values(), key=lambda c: c["since"])
        with self._pg.use() as conn:
            conn.execute(
                "INSERT INTO worker_heartbeats (worker, hostname, pid, queues, threads, current, "
                "redis_ok, started_at, last_seen) VALUES (%s, %s, %s, %s, %s, %s, %s, "
                "to_timestamp(%s), now()) ON CONFLICT (worker) DO UPDATE SET "
                "queues = EXCLUDED.queues, threads = EXCLUDED.threads, current = EXCLUDED.current, "
                "redis_ok = EXCLUDED.redis_ok, last_seen = now()",
                (
                    self.worker_name,
                    static["hostname"],
                    static["pid"],
                    static["queues"],
                    static["threads"],
                    Jsonb(current),
                    self._redis_ok,
                    static["started_at"],
                ),
            )
            conn.commit()

    def sweep(self) -> None:
        assert self.settings is not None and self._broker is not None
        broker = self._broker
        with self._pg.use() as conn:
            result = sweep(
                conn,
                self._client,
                lambda job_id, job_type: send_on(broker, job_id, job_type),
                self.settings,
            )
        if result:
            log.warning(
                "sweeper: %d expired lease(s) released, %d message(s) re-sent",
                len(result.released),
                len(result.resent),
            )

    def _beat_loop(self) -> None:
        last_care = 0.0
        while not self._stop.is_set():
            try:
                self.beat()
                self._redis_ok = True
            except Exception:
                self._redis_ok = False
                log.debug("worker status beat failed", exc_info=True)
            interval = self.settings.job_sweep_interval_s if self.settings else None
            if interval and time.monotonic() - last_care >= interval:
                last_care = time.monotonic()
                for care in (self.pg_beat, self.sweep):
                    try:
                        care()
                    except (psycopg.Error, OSError, ConnectionError) as exc:
                        log.info("worker %s failed: %s", care.__name__, exc)
                    except Exception:
                        log.warning("worker %s failed", care.__name__, exc_info=True)
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
        fields = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in raw.items()
        }
        worker = {
            name: json.loads(fields[name])
            for name in ("hostname", "pid", "ppid", "threads", "queues", "started_at", "current")
            if name in fields
        }
        worker.update(
            key=key,
            processed=int(fields.get("processed", 0)),
            failed=int(fields.get("failed", 0)),
            last_seen=float(fields.get("last_seen", 0)),
        )
        workers.append(worker)
    if gone:
        client.zrem(INDEX_KEY, *gone)
    return sorted(workers, key=lambda w: (w.get("hostname", ""), w.get("started_at", 0)))


def read_pg_workers(conn: Conn, within_s: float) -> list[dict[str, Any]]:
    """Worker processes whose Postgres heartbeat is younger than `within_s` seconds."""
    return conn.execute(
        "SELECT worker, hostname, pid, queues, threads, current, redis_ok, started_at, last_seen "
        "FROM worker_heartbeats WHERE last_seen > now() - make_interval(secs => %s) "
        "ORDER BY hostname, started_at",
        (within_s,),
    ).fetchall()


def add_operations_middleware(broker: dramatiq.Broker, settings: Settings) -> None:
    """Worker status always; Dramatiq's Prometheus exporter when OMNI_WORKER_METRICS is on
    (it serves on dramatiq_prom_host:dramatiq_prom_port, default 0.0.0.0:9191, from a process
    forked by the `dramatiq` worker runner)."""
    broker.add_middleware(WorkerStatus(settings=settings))
    if settings.worker_metrics:
        # only with metrics on
        from dramatiq.middleware.prometheus import Prometheus  # noqa: PLC0415 - see the reason above

        broker.add_middleware(Prometheus())

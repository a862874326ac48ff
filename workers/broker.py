"""The one Redis broker.

Nothing happens at import. `setup_broker()` reads the settings once, builds the broker, its
middleware and the queues of the job registry (`db/job_kinds.py`) and makes it Dramatiq's
global broker; `get_broker()` does that on first use for producers such as `send_job`. The
broker knows no actors: `workers.actors.setup_worker` builds it and declares them, and the
worker processes get it from `dramatiq workers.actors:setup_worker` (`omni worker` runs that).
Tests may call `setup_broker(url)` to point a producer at their own Redis.
"""

from __future__ import annotations

import threading

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Retries

from core.config import Settings, get_settings
from core.endpoints import redis_url
from db.job_kinds import QUEUES
from workers.outcomes import JobOutcomes
from workers.queues import NAMESPACE
from workers.status import add_operations_middleware

_broker: RedisBroker | None = None
_lock = threading.RLock()


def setup_broker(url: str | None = None, settings: Settings | None = None) -> RedisBroker:
    """The broker, made Dramatiq's global one (no actors: a message names its actor and queue,
    so a process that only sends messages never loads the job modules)."""
    global _broker
    settings = settings or get_settings()
    with _lock:
        broker = RedisBroker(
            url=url or redis_url(settings),
            namespace=NAMESPACE,
            heartbeat_timeout=settings.broker_heartbeat_timeout_ms,
            maintenance_chance=settings.broker_maintenance_chance,
        )
        configure(broker, settings)
        _broker = broker
        dramatiq.set_broker(broker)
        return broker


def configure(broker: dramatiq.Broker, settings: Settings) -> None:
    """What the project adds to a broker (the Redis one here, a StubBroker in unit tests): its
    middleware and queues."""

    # After Retries has decided (emit_after runs in reverse order): a message that ran out
    # of retries marks its job failed.
    broker.add_middleware(JobOutcomes(), before=Retries)
    # Operations (docs/operations.md): per-process status for the dashboard, the sweeper
    # (expired leases, lost messages) and Dramatiq's Prometheus exporter when
    # OMNI_WORKER_METRICS is on.
    add_operations_middleware(broker, settings)
    for queue in QUEUES:
        broker.declare_queue(queue)


def get_broker() -> RedisBroker:
    with _lock:
        return _broker if _broker is not None else setup_broker()

"""The one Redis broker, set up before any actor is declared.

`dramatiq workers.actors` and `omni worker` both import this module first (through
workers.actors, which calls `get_broker()` before declaring an actor). Tests may call
`setup_broker(url)` to point at their own Redis: actors already declared move to the new broker.
"""

from __future__ import annotations

import threading

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Retries

from omni.config import get_settings
from omni.endpoints import redis_url

QUEUES = ("crawl", "extract", "optimize", "embed", "catalog")
NAMESPACE = "dramatiq"

_broker: RedisBroker | None = None
_lock = threading.RLock()


def setup_broker(url: str | None = None) -> RedisBroker:
    global _broker
    from workers.outcomes import JobOutcomes

    settings = get_settings()
    with _lock:
        broker = RedisBroker(
            url=url or redis_url(),
            namespace=NAMESPACE,
            heartbeat_timeout=settings.broker_heartbeat_timeout_ms,
            maintenance_chance=settings.broker_maintenance_chance,
        )
        # After Retries has decided (emit_after runs in reverse order): a message that ran out
        # of retries marks its job failed.
        broker.add_middleware(JobOutcomes(), before=Retries)
        # Operations (docs/operations.md): per-process status for the dashboard, and
        # Dramatiq's Prometheus exporter when OMNI_WORKER_METRICS is on.
        from workers.status import add_operations_middleware

        add_operations_middleware(broker)
        for queue in QUEUES:
            broker.declare_queue(queue)
        previous, _broker = _broker, broker
        if previous is not None:
            for name in previous.get_declared_actors():
                actor = previous.get_actor(name)
                actor.broker = broker
                broker.declare_actor(actor)
        dramatiq.set_broker(broker)
        return broker


def get_broker() -> RedisBroker:
    with _lock:
        return _broker if _broker is not None else setup_broker()

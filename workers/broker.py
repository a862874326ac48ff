"""The one Redis broker, with the actors declared on it.

Nothing happens at import. `setup_broker()` reads the settings once, builds the broker, its
middleware, queues and actors (`workers.actors.declare_actors`) and makes it Dramatiq's global
broker; `get_broker()` does that on first use for producers such as `send_job`, without the
actors. The worker processes get theirs from `dramatiq workers.broker:setup_broker` (`omni worker` runs that):
Dramatiq imports this module, then calls the function. Tests may call `setup_broker(url)` to
point at their own Redis.
"""

from __future__ import annotations

import threading

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Retries

from core.config import Settings, get_settings
from core.endpoints import redis_url
from workers.outcomes import JobOutcomes
from workers.status import add_operations_middleware

QUEUES = ("crawl", "extract", "optimize", "embed", "catalog", "privacy")
NAMESPACE = "dramatiq"

_broker: RedisBroker | None = None
_lock = threading.RLock()


def setup_broker(url: str | None = None, settings: Settings | None = None, *,
                 with_actors: bool = True) -> RedisBroker:
    """The broker, made Dramatiq's global one. A process that only sends messages passes
    `with_actors=False`: a message names its actor and queue, so the actors' job modules (numpy,
    the embedding backends: ~1.5 s) need not load there."""
    global _broker
    settings = settings or get_settings()
    with _lock:
        broker = RedisBroker(
            url=url or redis_url(settings),
            namespace=NAMESPACE,
            heartbeat_timeout=settings.broker_heartbeat_timeout_ms,
            maintenance_chance=settings.broker_maintenance_chance,
        )
        configure(broker, settings, with_actors=with_actors)
        _broker = broker
        dramatiq.set_broker(broker)
        return broker


def configure(broker: dramatiq.Broker, settings: Settings, *, with_actors: bool = True) -> None:
    """What the project adds to a broker (the Redis one here, a StubBroker in unit tests): its
    middleware, queues and actors."""

    # After Retries has decided (emit_after runs in reverse order): a message that ran out
    # of retries marks its job failed.
    broker.add_middleware(JobOutcomes(), before=Retries)
    # Operations (docs/operations.md): per-process status for the dashboard, and
    # Dramatiq's Prometheus exporter when OMNI_WORKER_METRICS is on.
    add_operations_middleware(broker, settings)
    for queue in QUEUES:
        broker.declare_queue(queue)
    if with_actors:
        # The actors' job modules load only in a process that declares them (setup_broker).
        from workers.actors import declare_actors

        declare_actors(broker, settings)


def get_broker() -> RedisBroker:
    with _lock:
        return _broker if _broker is not None else setup_broker(with_actors=False)

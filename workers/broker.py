"""The one Redis broker, set up before any actor is declared.

`dramatiq workers.actors` and `omni worker` both import this module first (through
workers.actors). Tests may call `setup_broker(url)` to point at their own Redis.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from omni.services import redis_url

QUEUES = ("crawl", "extract", "optimize", "embed")


def setup_broker(url: str | None = None) -> RedisBroker:
    broker = RedisBroker(url=url or redis_url())
    from workers.status import add_operations_middleware  # operations: dashboard + metrics

    add_operations_middleware(broker)
    dramatiq.set_broker(broker)
    return broker


def get_broker() -> dramatiq.Broker:
    broker = dramatiq.get_broker()
    if not isinstance(broker, RedisBroker):
        broker = setup_broker()
    return broker

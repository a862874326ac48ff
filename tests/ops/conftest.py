"""Fixtures for the operations tests: the project's broker on the test Redis, seed helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OMNI = REPO / ".venv" / "bin" / "omni"


@pytest.fixture
def broker(services_env, redis_client) -> Iterator[object]:
    """The project's RedisBroker pointed at the test Redis (emptied by redis_client)."""
    from workers.broker import setup_broker

    yield setup_broker(services_env["REDIS_URL"])


def queued_job_ids(redis_client, queue: str) -> list[str]:
    """The job ids carried by the messages waiting in a Dramatiq queue (decoded from Redis)."""
    import json

    ids = redis_client.lrange(f"dramatiq:{queue}", 0, -1)
    messages = redis_client.hmget(f"dramatiq:{queue}.msgs", ids) if ids else []
    return [json.loads(m)["args"][0] for m in messages if m]

"""Is there work left? Broker queues (ready, delayed, unacknowledged) and unfinished jobs."""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
import redis

from workers.broker import NAMESPACE
from workers.dispatch import ACTOR_FOR_JOB_TYPE


def broker_backlog(client: redis.Redis, queues: Iterable[str], namespace: str = NAMESPACE) -> int:
    """Messages waiting, delayed, or fetched by a worker and not yet acknowledged."""
    names = set()
    for queue in queues:
        names.update({queue, f"{queue}.DQ"})
    total = sum(client.llen(f"{namespace}:{name}") for name in names)
    # Unacked messages live in `<ns>:__acks__.<worker id>.<queue>`; a dead worker's stay there
    # until the broker's maintenance hands them to a live worker.
    for key in client.scan_iter(match=f"{namespace}:__acks__.*", count=500):
        name = key.decode() if isinstance(key, bytes) else key
        if any(name.endswith("." + queue) for queue in names):
            total += client.scard(key)
    return total


def job_types_for(queues: Iterable[str]) -> list[str]:
    wanted = set(queues)
    return [job_type for job_type, (_, queue) in ACTOR_FOR_JOB_TYPE.items() if queue in wanted]


def unfinished_jobs(conn: psycopg.Connection, queues: Iterable[str]) -> int:
    row = conn.execute(
        "SELECT count(*) AS n FROM content_refresh_jobs "
        "WHERE status IN ('pending', 'running') AND job_type = ANY(%s)",
        (job_types_for(queues),)).fetchone()
    return int(row["n"] if isinstance(row, dict) else row[0])

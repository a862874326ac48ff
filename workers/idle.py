"""Is there work left? Broker queues (ready, delayed, unacknowledged) and unfinished jobs."""

from __future__ import annotations

from collections.abc import Iterable

import redis

from db.connection import Conn, one
from db.job_kinds import job_types_on
from workers.queues import queue_stats


def broker_backlog(client: redis.Redis, queues: Iterable[str]) -> int:
    """Messages waiting, delayed, or fetched by a worker and not yet acknowledged."""
    return sum(stats.backlog for stats in queue_stats(client, queues))


def unfinished_jobs(conn: Conn, queues: Iterable[str]) -> int:
    row = one(
        conn.execute(
            "SELECT count(*) AS n FROM content_refresh_jobs "
            "WHERE status IN ('pending', 'running') AND job_type = ANY(%s)",
            (job_types_on(queues),),
        )
    )
    return int(row["n"] if isinstance(row, dict) else row[0])

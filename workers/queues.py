"""Queue statistics read from Redis: the one place that knows Dramatiq's Redis broker key layout
(dramatiq/brokers/redis/dispatch.lua, namespace "dramatiq"):

  dramatiq:<q>                    list of waiting message ids        -> ready
  dramatiq:<q>.DQ                 list of delayed message ids        -> delayed
  dramatiq:__acks__.<worker>.<q>  set of fetched, unacked ids        -> in flight
  dramatiq:__acks__.<worker>.<q>.DQ  delayed messages a worker holds until their eta -> delayed
  dramatiq:<q>.XQ                 zset of dead-lettered ids          -> dead
  dramatiq:<q>[.DQ].msgs          hash id -> encoded message (until it is acknowledged)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

NAMESPACE = "dramatiq"


@dataclass(frozen=True)
class QueueStats:
    queue: str
    ready: int
    delayed: int
    in_flight: int
    dead: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def backlog(self) -> int:
        """Messages waiting, delayed, or fetched by a worker and not yet acknowledged (a dead
        worker's stay unacked until the broker's maintenance hands them to a live worker)."""
        return self.ready + self.delayed + self.in_flight


def _ack_counts(client: Any) -> dict[str, int]:
    """Unacked message counts per queue name (".DQ" names kept) over all workers."""
    counts: dict[str, int] = {}
    prefix = f"{NAMESPACE}:__acks__."
    keys = [
        k.decode() if isinstance(k, bytes) else k
        for k in client.scan_iter(match=prefix + "*", count=500)
    ]
    if not keys:
        return counts
    pipe = client.pipeline()
    for key in keys:
        pipe.scard(key)
    for key, size in zip(keys, pipe.execute(), strict=False):
        # <worker-id>.<queue>[.DQ]; worker ids are uuids (no dots)
        _, _, queue = key[len(prefix) :].partition(".")
        counts[queue] = counts.get(queue, 0) + int(size)
    return counts


def queue_stats(client: Any, queues: Iterable[str]) -> list[QueueStats]:
    queues = list(queues)
    acks = _ack_counts(client)
    pipe = client.pipeline()
    for queue in queues:
        pipe.llen(f"{NAMESPACE}:{queue}")
        pipe.llen(f"{NAMESPACE}:{queue}.DQ")
        pipe.zcard(f"{NAMESPACE}:{queue}.XQ")
    values = pipe.execute()
    stats = []
    for i, queue in enumerate(queues):
        ready, delayed, dead = values[3 * i : 3 * i + 3]
        stats.append(
            QueueStats(
                queue=queue,
                ready=int(ready),
                delayed=int(delayed) + acks.get(f"{queue}.DQ", 0),
                in_flight=acks.get(queue, 0),
                dead=int(dead),
            )
        )
    return stats


@dataclass(frozen=True)
class LiveMessages:
    """The job ids messages carry now: `queued` (waiting or delayed in a queue) and `held`
    (fetched by a worker, not acknowledged yet; a dead worker's come back by maintenance)."""

    queued: frozenset[str]
    held: frozenset[str]

    def __contains__(self, job_id: object) -> bool:
        return str(job_id) in self.queued or str(job_id) in self.held


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else value


def live_messages(client: Any, queues: Iterable[str]) -> LiveMessages:
    """Read every message of the queues from Redis (their bodies name the job)."""
    names = [n for q in queues for n in (q, f"{q}.DQ")]
    pipe = client.pipeline()
    for name in names:
        pipe.hgetall(f"{NAMESPACE}:{name}.msgs")
        pipe.lrange(f"{NAMESPACE}:{name}", 0, -1)
    values = pipe.execute()
    job_of: dict[str, str] = {}
    queued: set[str] = set()
    for i in range(len(names)):
        bodies, waiting = values[2 * i], values[2 * i + 1]
        for message_id, body in bodies.items():
            try:
                args = json.loads(body).get("args") or []
            except ValueError:
                continue
            if args:
                job_of[_text(message_id)] = str(args[0])
        queued.update(job_of[m] for m in map(_text, waiting) if m in job_of)
    held: set[str] = set()
    prefix = f"{NAMESPACE}:__acks__."
    keys = [_text(k) for k in client.scan_iter(match=prefix + "*", count=500)]
    if keys:
        pipe = client.pipeline()
        for key in keys:
            pipe.smembers(key)
        for members in pipe.execute():
            held.update(job_of[m] for m in map(_text, members) if m in job_of)
    return LiveMessages(frozenset(queued), frozenset(held))

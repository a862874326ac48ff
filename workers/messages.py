"""A job's message: its actor and queue from the registry (`db/job_kinds.py`), one argument,
the job's id. Built here for every sender (`workers/dispatch.py`, the sweeper)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import dramatiq

from db.job_kinds import kind_of


def message_for(job_id: UUID | str, job_type: str) -> dramatiq.Message[Any]:
    kind = kind_of(job_type)
    return dramatiq.Message(
        queue_name=kind.queue, actor_name=kind.actor, args=(str(job_id),), kwargs={}, options={}
    )


def send_on(
    broker: dramatiq.Broker, job_id: UUID | str, job_type: str, delay_ms: int | None = None
) -> dramatiq.Message[Any]:
    return broker.enqueue(message_for(job_id, job_type), delay=delay_ms)

"""Send a job's message without importing the actors (the crawler and CLI use this).

The contract between producers and the workers: a message carries one argument, the
`content_refresh_jobs.id` (never rows); the job's `metadata` says what to work on
(e.g. `page_ids`). The actor and queue of each job type come from the registry
(`db/job_kinds.py`).
"""

from __future__ import annotations

from uuid import UUID

import dramatiq

from db.job_kinds import kind_of
from workers.broker import get_broker


def send_job(job_id: UUID | str, job_type: str, delay_ms: int | None = None) -> dramatiq.Message:
    kind = kind_of(job_type)
    message = dramatiq.Message(
        queue_name=kind.queue, actor_name=kind.actor, args=(str(job_id),), kwargs={}, options={}
    )
    return get_broker().enqueue(message, delay=delay_ms)

"""Send a job's message without importing the actors (the crawler and CLI use this).

The contract between producers and the workers: a message carries one argument, the
`content_refresh_jobs.id` (never rows); the job's `metadata` says what to work on
(e.g. `page_ids`). The actor and queue of each job type come from the registry
(`db/job_kinds.py`, through `workers/messages.py`).
"""

from __future__ import annotations

from uuid import UUID

import dramatiq

from workers.broker import get_broker
from workers.messages import send_on


def send_job(job_id: UUID | str, job_type: str, delay_ms: int | None = None) -> dramatiq.Message:
    return send_on(get_broker(), job_id, job_type, delay_ms)

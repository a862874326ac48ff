"""Send a job's message without importing the actors (the crawler and CLI use this).

The contract between producers and the workers: a message carries one argument, the
`content_refresh_jobs.id` (never rows); the job's `metadata` says what to work on
(e.g. `page_ids`). Actor names and queues are fixed here.
"""

from __future__ import annotations

from uuid import UUID

import dramatiq

from db.jobs import JobType
from workers.broker import get_broker

ACTOR_FOR_JOB_TYPE: dict[str, tuple[str, str]] = {
    # job_type: (actor_name, queue_name)
    JobType.CRAWL: ("crawl_domain", "crawl"),
    JobType.EXTRACT: ("extract_pages", "extract"),
    JobType.OPTIMIZE: ("optimize_pages", "optimize"),
    JobType.EMBED: ("embed_pages", "embed"),
    JobType.FULL: ("crawl_domain", "crawl"),
    JobType.CATALOG: ("sync_catalog", "catalog"),  # workers/catalog_sync_job.py
    JobType.PRIVACY: ("process_privacy_request", "privacy"),  # workers/privacy_job.py
}


def send_job(job_id: UUID | str, job_type: str, delay_ms: int | None = None) -> dramatiq.Message:
    actor_name, queue_name = ACTOR_FOR_JOB_TYPE[job_type]
    message = dramatiq.Message(
        queue_name=queue_name, actor_name=actor_name, args=(str(job_id),), kwargs={}, options={}
    )
    return get_broker().enqueue(message, delay=delay_ms)

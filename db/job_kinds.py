"""The registry of job kinds: for each job type, the actor that runs it, its queue, its time
limit and its retry policy. The one table the broker (its queues), the actors (their options),
the senders (`workers/dispatch.py`), the crawl's enqueue pipeline (the page stages) and
`--until-idle` derive from. It sits in `db/`, beside `JobType`, so the crawl may read it without
importing the workers (docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from db.jobs import JobType


@dataclass(frozen=True)
class RetryPolicy:
    """Transient errors are retried with Dramatiq's exponential back-off; the values are the
    names of the `core.config.Settings` fields that hold them."""

    max_retries: str = "worker_max_retries"
    min_backoff_ms: str = "worker_min_backoff_ms"
    max_backoff_ms: str = "worker_max_backoff_ms"


@dataclass(frozen=True)
class JobKind:
    actor: str  # the Dramatiq actor's name (workers/actors.py has its body)
    queue: str
    time_limit_s: str  # the Settings field holding the actor's time limit, in seconds
    retry: RetryPolicy = RetryPolicy()
    page_stage: bool = False  # queued by the crawl for its new and changed pages


_CRAWL = JobKind("crawl_domain", "crawl", "crawl_time_limit_s")

KINDS: dict[JobType, JobKind] = {
    JobType.CRAWL: _CRAWL,
    JobType.FULL: _CRAWL,  # a crawl whose pages then go through the page stages
    JobType.EXTRACT: JobKind("extract_pages", "extract", "worker_time_limit_s", page_stage=True),
    JobType.OPTIMIZE: JobKind("optimize_pages", "optimize", "worker_time_limit_s", page_stage=True),
    JobType.EMBED: JobKind("embed_pages", "embed", "worker_time_limit_s", page_stage=True),
    JobType.CATALOG: JobKind("sync_catalog", "catalog", "worker_time_limit_s"),
    JobType.PRIVACY: JobKind("process_privacy_request", "privacy", "worker_time_limit_s"),
}

# In the registry's order: what the enqueue pipeline creates per batch of changed pages.
PAGE_STAGES: tuple[str, ...] = tuple(t.value for t, k in KINDS.items() if k.page_stage)
QUEUES: tuple[str, ...] = tuple(dict.fromkeys(k.queue for k in KINDS.values()))
ACTORS: tuple[JobKind, ...] = tuple({k.actor: k for k in KINDS.values()}.values())


def kind_of(job_type: str) -> JobKind:
    try:
        return KINDS[JobType(job_type)]
    except ValueError:
        raise ValueError(f"unknown job type {job_type!r}") from None


def job_types_on(queues: Iterable[str]) -> list[str]:
    wanted = set(queues)
    return [t.value for t, k in KINDS.items() if k.queue in wanted]


def job_types_of(actor: str) -> tuple[str, ...]:
    return tuple(t.value for t, k in KINDS.items() if k.actor == actor)


def max_attempts(kind: JobKind, settings: Any) -> int:
    """A job's retry budget: its first attempt and `max_retries` more, counted on its row
    (`db.jobs.start`), whichever message or takeover started each."""
    return getattr(settings, kind.retry.max_retries) + 1


def actor_options(kind: JobKind, settings: Any) -> dict[str, Any]:
    """Dramatiq's options for the kind's actor, from the settings (`throws` is the workers')."""
    return {
        "queue_name": kind.queue,
        "time_limit": getattr(settings, kind.time_limit_s) * 1000,
        "max_retries": getattr(settings, kind.retry.max_retries),
        "min_backoff": getattr(settings, kind.retry.min_backoff_ms),
        "max_backoff": getattr(settings, kind.retry.max_backoff_ms),
    }

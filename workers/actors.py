"""The actors. `dramatiq workers.broker:setup_broker` (or `omni worker`) runs them.

Each actor has its own queue so a long crawl never starves embedding, a time limit, and retries
with exponential backoff for transient errors (`throws=PermanentError` stops retries for the
rest). Nothing here reads the settings at import: `declare_actors(broker, settings)`, called by
`workers.broker.setup_broker`, turns the functions below into actors with the options of the
settings it is given, and each actor reads the settings once per message and hands them down to
its job's work (`work(conn, job, settings)`), so job modules never call `get_settings()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import dramatiq
import psycopg

from crawlers import run as crawl_run
from db.jobs import CRAWL_TYPES, JobType
from core.config import Settings, get_settings

# Modules, not functions: each step is looked up when it runs (the StubBroker tests replace it).
from workers import catalog_sync_job, embed_job, extract_job, optimize_job, privacy_job, search
from workers.errors import PermanentError, TransientError
from workers.job_runner import Job, Stats, run_job


def _crawl(conn: psycopg.Connection | None, job: Job, settings: Settings) -> Stats:
    # The child's process group is killed however this returns (a time limit included); a
    # child that did not finish its crawl is a transient failure: the message is retried.
    try:
        return {"stats": crawl_run.crawl_child(str(job["id"]), job["runner"])}
    except crawl_run.CrawlFailed as exc:
        raise TransientError(str(exc)) from exc


def _extract(conn: psycopg.Connection, job: Job, settings: Settings) -> Stats:
    return extract_job.run_extract(conn, job)


def _optimize(conn: psycopg.Connection, job: Job, settings: Settings) -> Stats:
    return optimize_job.run_optimize(conn, job, settings)


def _embed(conn: psycopg.Connection, job: Job, settings: Settings) -> Stats:
    stats = embed_job.run_embed_merged(conn, job, settings)
    # Nothing of this job's may stay open: CREATE INDEX CONCURRENTLY waits for older transactions.
    conn.commit()
    stats.update(search.sync_domain_index(job["domain_id"], settings))
    return stats


def _catalog(conn: psycopg.Connection, job: Job, settings: Settings) -> Stats:
    return catalog_sync_job.run_catalog_sync(conn, job, settings)


def _privacy(conn: psycopg.Connection, job: Job, settings: Settings) -> Stats:
    return privacy_job.run_privacy(conn, job, settings)


# The actors' bodies: one message, one job id, the settings read once for it.
def crawl_domain(job_id: str) -> None:
    run_job(job_id, CRAWL_TYPES, _crawl, get_settings(), needs_conn=False)


def extract_pages(job_id: str) -> None:
    run_job(job_id, (JobType.EXTRACT,), _extract, get_settings())


def optimize_pages(job_id: str) -> None:
    run_job(job_id, (JobType.OPTIMIZE,), _optimize, get_settings())


def embed_pages(job_id: str) -> None:
    run_job(job_id, (JobType.EMBED,), _embed, get_settings())


def sync_catalog(job_id: str) -> None:
    run_job(job_id, (JobType.CATALOG,), _catalog, get_settings())


def process_privacy_request(job_id: str) -> None:
    run_job(job_id, (JobType.PRIVACY,), _privacy, get_settings())


class ActorSpec(NamedTuple):
    fn: Callable[[str], None]
    queue: str
    crawl: bool = False  # a crawl's time limit is OMNI_CRAWL_TIME_LIMIT_S


# Actor names are the functions' names; workers/dispatch.py names the same actors and queues.
ACTORS: tuple[ActorSpec, ...] = (
    ActorSpec(crawl_domain, "crawl", crawl=True),
    ActorSpec(extract_pages, "extract"),
    ActorSpec(optimize_pages, "optimize"),
    ActorSpec(embed_pages, "embed"),
    ActorSpec(sync_catalog, "catalog"),  # workers/catalog_sync_job.py
    ActorSpec(process_privacy_request, "privacy"),  # workers/privacy_job.py
)


def actor_options(spec: ActorSpec, settings: Settings) -> dict[str, object]:
    limit_s = settings.crawl_time_limit_s if spec.crawl else settings.worker_time_limit_s
    return {"queue_name": spec.queue, "time_limit": limit_s * 1000,
            "max_retries": settings.worker_max_retries,
            "min_backoff": settings.worker_min_backoff_ms,
            "max_backoff": settings.worker_max_backoff_ms, "throws": (PermanentError,)}


def declare_actors(broker: dramatiq.Broker, settings: Settings) -> dict[str, dramatiq.Actor]:
    return {spec.fn.__name__: dramatiq.actor(spec.fn, broker=broker, actor_name=spec.fn.__name__,
                                             **actor_options(spec, settings))
            for spec in ACTORS}

"""The actors. `dramatiq workers.actors` (or `omni worker`) runs them.

The broker is set up first (workers.broker); each actor has its own queue so a long crawl never
starves embedding, a time limit, and retries with exponential backoff for transient errors
(`throws=PermanentError` stops retries for the rest).
"""

from __future__ import annotations

import dramatiq

from db.jobs import CRAWL_TYPES, JobType
from omni.config import get_settings
from workers.broker import get_broker
from workers.errors import PermanentError, TransientError
from workers.job_runner import run_job

get_broker()
_settings = get_settings()
_common = dict(
    max_retries=_settings.worker_max_retries,
    min_backoff=_settings.worker_min_backoff_ms,
    max_backoff=_settings.worker_max_backoff_ms,
    throws=(PermanentError,),
)
_limit_ms = _settings.worker_time_limit_s * 1000


def _crawl(conn, job):
    from crawlers.run import CrawlFailed, crawl_child

    # The child's process group is killed however this returns (a time limit included); a
    # child that did not finish its crawl is a transient failure: the message is retried.
    try:
        return {"stats": crawl_child(str(job["id"]), job["runner"])}
    except CrawlFailed as exc:
        raise TransientError(str(exc)) from exc


def _extract(conn, job):
    from workers.extract_job import run_extract

    return run_extract(conn, job)


def _optimize(conn, job):
    from workers.optimize_job import run_optimize

    return run_optimize(conn, job)


def _embed(conn, job):
    from workers.embed_job import run_embed_merged
    from workers.search import sync_domain_index

    stats = run_embed_merged(conn, job)
    # Nothing of this job's may stay open: CREATE INDEX CONCURRENTLY waits for older transactions.
    conn.commit()
    stats.update(sync_domain_index(job["domain_id"]))
    return stats


@dramatiq.actor(actor_name="crawl_domain", queue_name="crawl",
                time_limit=_settings.crawl_time_limit_s * 1000, **_common)
def crawl_domain(job_id: str) -> None:
    run_job(job_id, CRAWL_TYPES, _crawl, needs_conn=False)


@dramatiq.actor(actor_name="extract_pages", queue_name="extract", time_limit=_limit_ms, **_common)
def extract_pages(job_id: str) -> None:
    run_job(job_id, (JobType.EXTRACT,), _extract)


@dramatiq.actor(actor_name="optimize_pages", queue_name="optimize", time_limit=_limit_ms, **_common)
def optimize_pages(job_id: str) -> None:
    run_job(job_id, (JobType.OPTIMIZE,), _optimize)


@dramatiq.actor(actor_name="embed_pages", queue_name="embed", time_limit=_limit_ms, **_common)
def embed_pages(job_id: str) -> None:
    run_job(job_id, (JobType.EMBED,), _embed)


# ---------------------------------------------------------------- catalogue sync (shop APIs)
def _catalog(conn, job):
    from workers.catalog_sync_job import run_catalog_sync

    return run_catalog_sync(conn, job)


@dramatiq.actor(actor_name="sync_catalog", queue_name="catalog", time_limit=_limit_ms, **_common)
def sync_catalog(job_id: str) -> None:
    run_job(job_id, (JobType.CATALOG,), _catalog)

"""The actors. `dramatiq workers.actors:setup_worker` (or `omni worker`) runs them.

Each actor has its own queue so a long crawl never starves embedding, a time limit, and retries
with exponential backoff for transient errors (`throws=PermanentError` stops retries for the
rest). Nothing here reads the settings at import: `declare_actors(broker, settings)`, called by
`setup_worker`, turns the functions below into actors with the options the registry
(`db/job_kinds.py`) takes from the settings it is given, and each actor reads the settings once
per message and hands them down to its job's work (`work(conn, job, settings)`), so job modules
never call `get_settings()`.
"""

from __future__ import annotations

from collections.abc import Callable

import dramatiq

from core.config import Settings, get_settings
from crawlers import run as crawl_run
from db.connection import Conn
from db.job_kinds import ACTORS, actor_options, job_types_of

# Modules, not functions: each step is looked up when it runs (the StubBroker tests replace it).
from workers import catalog_sync_job, embed_job, extract_job, optimize_job, privacy_job, search
from workers.broker import setup_broker
from workers.errors import PermanentError, TransientError
from workers.job_runner import Job, Stats, run_job


def _crawl(conn: Conn | None, job: Job, settings: Settings) -> Stats:
    # The child's process group is killed however this returns (a time limit included); a
    # child that did not finish its crawl is a transient failure: the message is retried.
    try:
        return {"stats": crawl_run.crawl_child(str(job["id"]), job["runner"])}
    except crawl_run.CrawlFailed as exc:
        raise TransientError(str(exc)) from exc


def _extract(conn: Conn, job: Job, settings: Settings) -> Stats:
    return extract_job.run_extract(conn, job)


def _optimize(conn: Conn, job: Job, settings: Settings) -> Stats:
    return optimize_job.run_optimize(conn, job, settings)


def _embed(conn: Conn, job: Job, settings: Settings) -> Stats:
    stats = embed_job.run_embed_merged(conn, job, settings)
    # Nothing of this job's may stay open: CREATE INDEX CONCURRENTLY waits for older transactions.
    conn.commit()
    stats.update(search.recount_keyword_stats(conn, job["domain_id"]))
    stats.update(search.sync_domain_index(job["domain_id"], settings))
    return stats


def _catalog(conn: Conn, job: Job, settings: Settings) -> Stats:
    return catalog_sync_job.run_catalog_sync(conn, job, settings)


def _privacy(conn: Conn, job: Job, settings: Settings) -> Stats:
    return privacy_job.run_privacy(conn, job, settings)


# The actors' bodies: one message, one job id, the settings read once for it. Each runs the job
# types the registry (db/job_kinds.py) routes to its name.
def crawl_domain(job_id: str) -> None:
    run_job(job_id, job_types_of("crawl_domain"), _crawl, get_settings(), needs_conn=False)


def extract_pages(job_id: str) -> None:
    run_job(job_id, job_types_of("extract_pages"), _extract, get_settings())


def optimize_pages(job_id: str) -> None:
    run_job(job_id, job_types_of("optimize_pages"), _optimize, get_settings())


def embed_pages(job_id: str) -> None:
    run_job(job_id, job_types_of("embed_pages"), _embed, get_settings())


def sync_catalog(job_id: str) -> None:
    run_job(job_id, job_types_of("sync_catalog"), _catalog, get_settings())


def process_privacy_request(job_id: str) -> None:
    run_job(job_id, job_types_of("process_privacy_request"), _privacy, get_settings())


BODIES: dict[str, Callable[[str], None]] = {
    fn.__name__: fn
    for fn in (
        crawl_domain,
        extract_pages,
        optimize_pages,
        embed_pages,
        sync_catalog,
        process_privacy_request,
    )
}


def declare_actors(broker: dramatiq.Broker, settings: Settings) -> dict[str, dramatiq.Actor]:
    """Every actor of the registry on `broker`, with its options from the settings."""
    return {
        kind.actor: dramatiq.actor(
            broker=broker,
            actor_name=kind.actor,
            throws=(PermanentError,),
            **actor_options(kind, settings),
        )(BODIES[kind.actor])
        for kind in ACTORS
    }


def setup_worker(url: str | None = None, settings: Settings | None = None) -> dramatiq.Broker:
    """The worker processes' broker: `dramatiq workers.actors:setup_worker` (Dramatiq imports
    this module, then calls the function). The project broker with the actors declared."""
    settings = settings or get_settings()
    broker = setup_broker(url, settings)
    declare_actors(broker, settings)
    return broker

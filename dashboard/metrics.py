"""`/metrics`: gauges computed on each scrape from Postgres and Redis.

Dramatiq's own Prometheus middleware (OMNI_WORKER_METRICS=1) exports the worker-side
counters and histograms from each worker host on its own port (dramatiq_prom_port, 9191).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from dashboard import queries
from workers.queues import queue_stats
from workers.status import read_workers


class OmniCollector(Collector):
    def __init__(
        self,
        connection: Callable[[], Any],
        redis_client: Callable[[], Any],
        queues: tuple[str, ...],
    ) -> None:
        self.connection, self.redis_client, self.queues = connection, redis_client, queues

    def collect(self) -> Iterator[GaugeMetricFamily]:
        client = self.redis_client()
        queue = GaugeMetricFamily(
            "omni_queue_messages",
            "Messages in a Dramatiq queue by state",
            labels=["queue", "state"],
        )
        for stats in queue_stats(client, self.queues):
            for state in ("ready", "delayed", "in_flight", "dead"):
                queue.add_metric([stats.queue, state], getattr(stats, state))
        yield queue
        workers = read_workers(client)
        yield GaugeMetricFamily(
            "omni_worker_processes", "Live worker processes", value=len(workers)
        )
        yield GaugeMetricFamily(
            "omni_worker_threads",
            "Worker threads in live worker processes",
            value=sum(int(w.get("threads") or 0) for w in workers),
        )
        busy = GaugeMetricFamily("omni_worker_busy_threads", "Messages being processed now")
        busy.add_metric([], sum(len(w.get("current") or []) for w in workers))
        yield busy

        with self.connection() as conn:
            jobs = GaugeMetricFamily(
                "omni_jobs",
                "content_refresh_jobs by type and status",
                labels=["job_type", "status"],
            )
            for row in queries.jobs_by_status(conn):
                jobs.add_metric([row["job_type"], row["status"]], row["n"])
            yield jobs
            pages = GaugeMetricFamily("omni_pages", "scraped_pages by status", labels=["status"])
            for row in queries.pages_by_status(conn):
                pages.add_metric([row["status"]], row["n"])
            yield pages
            totals = queries.totals(conn)
            yield GaugeMetricFamily("omni_domains", "Registered domains", value=totals["domains"])
            yield GaugeMetricFamily(
                "omni_chunks", "Embedded chunks (page_embeddings)", value=totals["chunks"]
            )
            yield GaugeMetricFamily(
                "omni_extractions", "Structured extractions", value=totals["extractions"]
            )
            tokens = GaugeMetricFamily(
                "omni_tokens", "Tokens used (business_usage) by usage type", labels=["usage_type"]
            )
            cost = GaugeMetricFamily(
                "omni_cost", "Cost recorded (business_usage) by usage type", labels=["usage_type"]
            )
            for row in queries.tokens_by_type(conn):
                tokens.add_metric([row["usage_type"]], float(row["tokens"]))
                cost.add_metric([row["usage_type"]], float(row["cost"]))
            yield tokens
            yield cost


def render(collector: OmniCollector) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)

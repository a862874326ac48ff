"""The fault rig shared by the CI fault tests (tests/workers/test_faults.py) and the full matrix
(bench/faults.py): real worker processes whose Redis and Postgres connections go through
loopback proxies (tests/support/tcp_proxy.py), the local OpenAI-compatible server with its
error switch and billing counter, a site of N pages embedded in jobs of 20 pages (created as
the crawl's enqueue step does: rows committed, then messages sent through the proxy), and the
checks, in SQL, that every scenario must pass afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dramatiq.brokers.redis import RedisBroker

from db import jobs, tenants
from tests.support.openai_server import OpenAIServer
from tests.support.paths import REPO, VENV_BIN
from tests.support.tcp_proxy import TcpProxy
from workers.messages import send_on

PAGES_PER_JOB = 20
WORDS = (
    "delivery returns warranty sizes colours fabric cotton wool leather stitching repair "
    "invoice payment shipping tracking parcel courier refund exchange voucher loyalty "
    "stock order basket checkout account address postcode support opening hours"
).split()


def page_text(i: int) -> str:
    """A page of a few paragraphs (two or three chunks at 120 tokens), distinct per page."""
    parts = [f"# Page {i}", f"Everything about item {i} and how we look after it."]
    for section in range(3):
        parts.append(f"## Part {section} of item {i}")
        for n in range(3):
            words = " ".join(
                WORDS[(i * 7 + section * 5 + n * 3 + k) % len(WORDS)] for k in range(12)
            )
            parts.append(f"Paragraph {section}.{n} of item {i}: {words}, number {i * 10 + n}.")
    return "\n\n".join(parts)


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port, url
    return port


@dataclass
class Rig:
    conn: Any  # autocommit connection to the real database
    database_url: str
    redis_url: str
    server: OpenAIServer
    logs: Path
    worker_env: dict[str, str]  # recovery settings for the workers
    redis_proxy: TcpProxy = field(init=False)
    pg_proxy: TcpProxy = field(init=False)
    workers: list[subprocess.Popen] = field(default_factory=list)
    job_ids: list[Any] = field(default_factory=list)
    page_ids: list[Any] = field(default_factory=list)
    reconnect: Callable[[], None] = lambda: None  # after a Postgres restart (bench/faults.py)

    # ---------------------------------------------------------------- the workers
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            **self.worker_env,
            "DATABASE_URL": self.pg_proxy.url_for(self.database_url, _port(self.database_url)),
            "REDIS_URL": self.redis_proxy.url_for(self.redis_url, _port(self.redis_url)),
            "OPENAI_BASE_URL": self.server.base_url,
            "OPENAI_API_KEY": "fault-key",
            "OMNI_EMBEDDING_BACKEND": "openai",
            "OMNI_EMBEDDING_MODEL": "text-embedding-3-small",
            "OMNI_CHUNK_TOKENS": "120",
            "OMNI_CHUNK_OVERLAP_TOKENS": "15",
            "OMNI_OPENAI_RETRY_BACKOFF": "0.05",
            "OMNI_EMBEDDING_MAX_INPUTS": "32",
            "OMNI_OPENAI_MAX_CONCURRENCY": "2",
            "OMNI_OPENAI_TIMEOUT": "20",
            "PYTHONUNBUFFERED": "1",
        }

    def start_worker(self, threads: int = 1) -> subprocess.Popen:
        log = open(self.logs / f"worker{len(self.workers)}.log", "ab")  # noqa: SIM115 - the child's
        proc = subprocess.Popen(
            [
                str(VENV_BIN / "dramatiq"),
                "workers.actors:setup_worker",
                "-p",
                "1",
                "-t",
                str(threads),
                "-Q",
                "embed",
            ],
            cwd=REPO,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.workers.append(proc)
        return proc

    def signal(self, proc: subprocess.Popen, sig: signal.Signals) -> None:
        os.killpg(proc.pid, sig)
        if sig == signal.SIGKILL:
            proc.wait(timeout=30)

    def stop_workers(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGCONT)
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=20)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()

    # ---------------------------------------------------------------- the site and its jobs
    def seed(self, pages: int) -> None:

        domain = tenants.add_domain(self.conn, "faults.example")["id"]
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO scraped_pages (domain_id, url, title, content, status, scraped_at) "
                "VALUES (%s, %s, %s, %s, 'completed', now())",
                [
                    (domain, f"https://faults.example/p/{i}", f"Page {i}", page_text(i))
                    for i in range(pages)
                ],
            )
        self.page_ids = [
            r["id"]
            for r in self.conn.execute(
                "SELECT id FROM scraped_pages WHERE domain_id = %s ORDER BY url", (domain,)
            )
        ]
        self.domain_id = domain

    def enqueue(self) -> int:
        """The enqueue step: the rows in one transaction, then one message each through the
        Redis proxy; a send that fails is left to the sweeper (as pipelines/enqueue.py does).
        Returns how many sends failed."""

        with self.conn.transaction():
            for i in range(0, len(self.page_ids), PAGES_PER_JOB):
                batch = [str(p) for p in self.page_ids[i : i + PAGES_PER_JOB]]
                self.job_ids.append(
                    jobs.create(self.conn, self.domain_id, "embed", {"page_ids": batch})
                )
        broker = RedisBroker(
            url=self.env()["REDIS_URL"], socket_timeout=2, socket_connect_timeout=2
        )
        broker.declare_queue("embed")
        failed = 0
        try:
            for job_id in self.job_ids:
                try:
                    send_on(broker, job_id, "embed")
                except Exception:  # noqa: BLE001 - Redis away: the sweeper re-sends
                    failed += 1
        finally:
            broker.close()
        return failed

    # ---------------------------------------------------------------- waiting and checking
    def embedded_pages(self) -> int:
        return self.conn.execute(
            "SELECT count(DISTINCT page_id) AS n FROM page_embeddings WHERE page_id = ANY(%s)",
            (self.page_ids,),
        ).fetchone()["n"]

    def wait_until(self, predicate: Callable[[], Any], timeout: float, what: str) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                if predicate():
                    return time.monotonic() - started
            except Exception:  # noqa: BLE001, S110 - the database may be the fault
                pass
            time.sleep(0.25)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}: {self.report()}")

    def done(self) -> bool:
        row = self.conn.execute(
            "SELECT count(*) FILTER (WHERE status = 'completed') AS done, count(*) AS n "
            "FROM content_refresh_jobs WHERE id = ANY(%s)",
            (self.job_ids,),
        ).fetchone()
        return row["done"] == row["n"] and self.embedded_pages() == len(self.page_ids)

    def site_tokens(self) -> int:
        """The tokens of every distinct chunk now stored: what embedding the site once costs."""
        return int(
            self.conn.execute(
                "SELECT COALESCE(sum(t), 0) AS t FROM (SELECT DISTINCT ON "
                "(metadata->>'chunk_hash') "
                "(metadata->>'token_count')::int AS t FROM page_embeddings) c"
            ).fetchone()["t"]
        )

    def report(self) -> dict[str, Any]:
        """What every scenario must end with, counted in SQL (and by the API server)."""
        conn = self.conn
        statuses = {
            r["status"]: r["n"]
            for r in conn.execute(
                "SELECT COALESCE(status, 'pending') AS status, count(*) AS n FROM "
                "content_refresh_jobs "
                "WHERE id = ANY(%s) GROUP BY 1",
                (self.job_ids,),
            )
        }
        duplicates = conn.execute(
            "SELECT count(*) AS n FROM (SELECT page_id, metadata->>'model', "
            "(metadata->>'chunk_index')::int FROM page_embeddings GROUP BY 1, 2, 3 "
            "HAVING count(*) > 1) d"
        ).fetchone()["n"]
        unleased = conn.execute(
            f"SELECT count(*) AS n FROM content_refresh_jobs WHERE status = 'running' "
            f"AND NOT COALESCE({jobs.LEASE_LIVE}, false) AND id = ANY(%s)",
            (self.job_ids,),
        ).fetchone()["n"]
        recorded = conn.execute(
            "SELECT COALESCE(sum(tokens), 0) AS t FROM business_usage "
            "WHERE usage_type = 'embedding'"
        ).fetchone()["t"]
        return {
            "pages": len(self.page_ids),
            "pages_without_embeddings": len(self.page_ids) - self.embedded_pages(),
            "duplicate_rows": duplicates,
            "jobs": statuses,
            "running_without_live_lease": unleased,
            "recorded_tokens": int(recorded),
            "billed_tokens": self.server.billed_tokens,
        }


def assert_clean(report: dict[str, Any]) -> None:
    assert report["pages_without_embeddings"] == 0, report
    assert report["duplicate_rows"] == 0, report
    assert report["jobs"] == {"completed": sum(report["jobs"].values())}, report
    assert report["running_without_live_lease"] == 0, report
    assert report["recorded_tokens"] == report["billed_tokens"], report


@contextmanager
def rig(
    conn: Any, database_url: str, redis_url: str, logs: Path, worker_env: dict[str, str]
) -> Iterator[Rig]:
    with OpenAIServer() as server:
        the_rig = Rig(conn, database_url, redis_url, server, logs, worker_env)
        with TcpProxy(_port(redis_url)) as redis_proxy, TcpProxy(_port(database_url)) as pg_proxy:
            the_rig.redis_proxy, the_rig.pg_proxy = redis_proxy, pg_proxy
            try:
                yield the_rig
            finally:
                the_rig.stop_workers()

"""`omni demo`: services up, migrate, serve the sample site, register it, crawl it, run the
workers until idle, print a summary, then keep the dashboard running (or exit)."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from core import processes
from core.config import get_settings, reload_settings
from core.domains import normalize_domain
from core.errors import OmniError
from crawlers.run import create_crawl_job, run_crawl_subprocess
from dashboard.app import create_app
from db import tenants
from db.connection import connect
from db.migrate import migrate
from interfaces import services
from interfaces.demo_site.server import SiteServer
from workers.search import search

SAMPLE_QUERY = "how long does shipping take"
SITE_PORT = 8931  # preferred, so that re-runs find the same domain; any free port otherwise
DEMO_CUSTOMER = ("demo@emberandoak.example", "Maya Ortega", "Ember & Oak Coffee Roasters")

Echo = Callable[[str], None]


def _echo(text: str) -> None:
    print(text, flush=True)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _step(echo: Echo, text: str) -> float:
    echo(f"==> {text}")
    return time.monotonic()


def summary(conn: Any, domain: str, query: str = SAMPLE_QUERY) -> dict[str, Any]:
    """The demo's numbers for one domain (from Postgres) and a sample search."""
    row = conn.execute("SELECT id FROM domains WHERE domain = %s", (domain,)).fetchone()
    if row is None:
        raise OmniError(f"unknown domain {domain}")
    did = row["id"]

    def one(sql: str) -> int:
        return conn.execute(sql, (did,)).fetchone()["n"]

    result = {
        "domain": domain,
        "pages": one("SELECT count(*) AS n FROM scraped_pages WHERE domain_id = %s"),
        "pages_by_status": {
            r["status"]: r["n"]
            for r in conn.execute(
                "SELECT COALESCE(status, 'pending') AS status, count(*) AS n FROM scraped_pages "
                "WHERE domain_id = %s GROUP BY 1 ORDER BY 1",
                (did,),
            )
        },
        "duplicates": one(
            "SELECT COALESCE(sum(GREATEST(cardinality(urls), occurrence_count) - 1), 0) "
            "AS n FROM content_hashes WHERE domain_id = %s "
            "AND GREATEST(cardinality(urls), occurrence_count) > 1"
        ),
        "extractions": {
            r["extract_type"]: r["n"]
            for r in conn.execute(
                "SELECT extract_type, count(*) AS n FROM structured_extractions WHERE domain_id = "
                "%s "
                "GROUP BY 1 ORDER BY 1",
                (did,),
            )
        },
        "optimized": one("SELECT count(*) AS n FROM ai_optimized_content WHERE domain_id = %s"),
        "chunks": one(
            "SELECT count(*) AS n FROM page_embeddings e JOIN scraped_pages p "
            "ON p.id = e.page_id WHERE p.domain_id = %s"
        ),
        "tokens": int(
            one("SELECT COALESCE(sum(tokens), 0) AS n FROM business_usage WHERE domain_id = %s")
        ),
        "jobs": {
            r["status"]: r["n"]
            for r in conn.execute(
                "SELECT status, count(*) AS n FROM content_refresh_jobs WHERE domain_id = %s "
                "GROUP BY 1 ORDER BY 1",
                (did,),
            )
        },
        "query": query,
    }
    hits = search(conn, query, domain, k=3, settings=get_settings())
    result["top_result"] = hits[0] if hits else None
    return result


def format_summary(s: dict[str, Any]) -> str:
    pages = ", ".join(f"{k} {v}" for k, v in s["pages_by_status"].items())
    extractions = ", ".join(f"{k} {v}" for k, v in s["extractions"].items()) or "none"
    jobs = ", ".join(f"{k} {v}" for k, v in s["jobs"].items())
    lines = [
        f"Summary for {s['domain']}",
        f"  pages:       {s['pages']} ({pages})",
        f"  duplicates:  {s['duplicates']}",
        f"  extractions: {sum(s['extractions'].values())} ({extractions})",
        f"  optimized:   {s['optimized']}",
        f"  chunks:      {s['chunks']}",
        f"  tokens:      {s['tokens']}",
        f"  jobs:        {jobs}",
        f'  search:      "{s["query"]}"',
    ]
    top = s.get("top_result")
    if top:
        snippet = " ".join((top.get("chunk") or "").split())[:160]
        lines.append(f"    top result: {top['url']} (similarity {top['similarity']})")
        lines.append(f'    "{snippet}"')
    else:
        lines.append("    no result")
    return "\n".join(lines)


def run_demo(
    *,
    dashboard: bool = True,
    dashboard_port: int = 8000,
    echo: Echo = _echo,
    worker_processes: int = 1,
    worker_threads: int = 4,
) -> dict[str, Any]:
    # The sample site is on 127.0.0.1: this process and its children may crawl it.
    os.environ["OMNI_ALLOW_PRIVATE_NETWORKS"] = "1"
    settings = reload_settings()
    started = time.monotonic()

    _step(echo, "starting services")
    for status in services.up(settings):
        where = "embedded, " + str(status.data_dir) if status.embedded else "external"
        echo(f"    {status.name}: {'running' if status.running else 'DOWN'} ({where})")

    _step(echo, "migrating the database")
    with connect(autocommit=True) as conn:
        applied = migrate(conn)
    echo(f"    {len(applied) if applied else 0} migration(s) applied")

    site = SiteServer(SITE_PORT if _port_free(SITE_PORT) else 0).start()
    board = _Dashboard(dashboard_port, echo) if dashboard else None
    try:
        _step(echo, f"serving the sample site at {site.url}/")
        domain = normalize_domain(site.url)
        with connect(autocommit=True) as conn:
            customer = tenants.add_customer(conn, *DEMO_CUSTOMER)
            tenants.add_domain(
                conn, domain, frequency="daily", name="Ember & Oak (demo)", customer=customer
            )
        echo(f"    registered {domain} for {DEMO_CUSTOMER[0]}")

        t = _step(echo, f"crawling {domain}")
        _, job_id = create_crawl_job(site.url + "/")
        last = [0.0]

        def progress(p: dict[str, Any]) -> None:
            if time.monotonic() - last[0] >= 2:
                last[0] = time.monotonic()
                echo(
                    "    "
                    + ", ".join(
                        f"{k} {v}" for k, v in p.items() if isinstance(v, (int, float)) and v
                    )
                )

        stats = run_crawl_subprocess(job_id, progress=progress, timeout=600)
        if stats.get("status") != "completed":
            raise OmniError(f"the demo crawl failed: {stats.get('error')}")
        echo(
            "    "
            + ", ".join(f"{k} {v}" for k, v in stats.items() if isinstance(v, int) and v)
            + f" ({time.monotonic() - t:.0f}s)"
        )

        t = _step(echo, "running the workers until idle (extract, optimise, embed)")
        workers = processes.spawn(
            [
                sys.executable,
                "-m",
                "interfaces.cli.main",
                "worker",
                "--until-idle",
                "--processes",
                str(worker_processes),
                "--threads",
                str(worker_threads),
            ]
        )
        try:
            code = workers.wait()
        finally:
            processes.stop(workers)
        if code != 0:
            raise OmniError(f"the workers exited with status {code}")
        echo(f"    done ({time.monotonic() - t:.0f}s)")

        with connect(autocommit=True) as conn:
            result = summary(conn, domain)
        echo("")
        echo(format_summary(result))
        echo(f"\n(demo took {time.monotonic() - started:.0f}s)")
        if board is not None:
            echo(
                f"\nDashboard: {board.url}   (Ctrl-C to stop; the sample site stays up "
                "while it runs)"
            )
            board.wait()
        return result
    finally:
        if board is not None:
            board.stop()
        site.stop()


class _Dashboard:
    """The dashboard on 127.0.0.1 in a thread, up from the start so the crawl and the workers
    can be watched live."""

    def __init__(self, port: int, echo: Echo) -> None:
        if not _port_free(port):
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                free = sock.getsockname()[1]
            echo(f"(port {port} is taken; using {free})")
            port = free
        self.url = f"http://127.0.0.1:{port}/"
        self.server = uvicorn.Server(
            uvicorn.Config(
                create_app("127.0.0.1"),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                access_log=False,
                lifespan="off",
            )
        )
        self.thread = threading.Thread(target=self.server.run, name="dashboard", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not self.server.started:
            raise OmniError(f"the dashboard could not start on 127.0.0.1:{port}")
        echo(f"==> dashboard (live while the demo runs): {self.url}")

    def wait(self) -> None:
        """Until Ctrl-C, SIGINT or SIGTERM. SIGINT gets a handler of its own too: a process
        started in the background by a non-interactive shell (a CI script's `&`, nohup) starts
        with SIGINT ignored, which Python keeps, so `kill -INT` did nothing and the demo ran on
        (as `omni scheduler` does, both signals stop it)."""

        def stop(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        previous = {
            signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            while self.thread.is_alive():
                self.thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

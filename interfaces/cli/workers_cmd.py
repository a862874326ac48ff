"""`omni worker`, `omni refresh`, `omni jobs`, `omni search` (docs/workers.md)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from core import processes as processes_
from core.config import get_settings
from core.errors import OmniError
from db.connection import connect
from db.job_kinds import QUEUES
from workers.broker import get_broker
from workers.idle import broker_backlog, unfinished_jobs

if TYPE_CHECKING:
    from types import FrameType

log = logging.getLogger("omni.worker")
# Dramatiq's default worker shutdown timeout (600 s) is longer than anyone waits for Ctrl-C;
# running jobs that are cut short are retried (at-least-once).
SHUTDOWN_GRACE_S = 30.0

jobs_app = typer.Typer(
    help="List refresh jobs; `omni jobs retry <id>` re-queues a failed one.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.command("refresh")(refresh)
    app.command("search")(search)
    app.add_typer(jobs_app, name="jobs")


# --------------------------------------------------------------------------- worker


def worker(
    processes: int = typer.Option(
        os.cpu_count() or 1,
        "--processes",
        "-p",
        min=1,
        help="Worker processes (each has its own database pool).",
    ),
    threads: int = typer.Option(4, "--threads", "-t", min=1, help="Threads per process."),
    queues: list[str] | None = typer.Option(
        None, "--queues", "-Q", help="Queues to consume (repeat; default: all)."
    ),
    until_idle: bool = typer.Option(
        False, "--until-idle", help="Exit once every queue is empty and no job is pending."
    ),
    idle_check: float = typer.Option(1.0, "--idle-check", help="Seconds between idle checks."),
    orphan_grace: float = typer.Option(
        30.0,
        "--orphan-grace",
        help="With --until-idle: seconds to wait for pending jobs that have no message.",
    ),
) -> None:
    """Run the Dramatiq workers (the same as `dramatiq workers.actors:setup_worker`)."""
    chosen = _queues(queues)
    command = [
        sys.executable,
        "-m",
        "workers",
        "workers.actors:setup_worker",
        "--processes",
        str(processes),
        "--threads",
        str(threads),
        "--queues",
        *chosen,
        "--worker-shutdown-timeout",
        str(int((SHUTDOWN_GRACE_S - 5) * 1000)),
    ]
    child = processes_.spawn(command)

    def forward(signum: int, frame: FrameType | None) -> None:
        child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    try:
        if until_idle:
            _wait_until_idle(child, chosen, idle_check, orphan_grace)
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        code = child.wait()
    finally:
        # Whatever ended this command, nothing it started stays behind: dramatiq's worker
        # processes get the time their own shutdown takes, then the group is killed.
        processes_.stop(child, grace=SHUTDOWN_GRACE_S)
    if code not in (0, -signal.SIGTERM):
        raise typer.Exit(code if code > 0 else 1)


def _queues(queues: list[str] | None) -> list[str]:
    chosen = list(dict.fromkeys(queues or QUEUES))
    unknown = [q for q in chosen if q not in QUEUES]
    if unknown:
        raise OmniError(f"unknown queue(s) {', '.join(unknown)}; expected {', '.join(QUEUES)}")
    return chosen


def _wait_until_idle(
    child: subprocess.Popen, queues: list[str], interval: float, orphan_grace: float
) -> None:
    client = get_broker().client
    quiet_since: float | None = None  # broker empty but jobs unfinished, since when
    idle_checks = 0
    with connect(autocommit=True) as conn:
        while child.poll() is None:
            time.sleep(interval)
            backlog = broker_backlog(client, queues)
            unfinished = unfinished_jobs(conn, queues)
            if backlog:
                idle_checks, quiet_since = 0, None
                continue
            if unfinished:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since < orphan_grace:
                    idle_checks = 0
                    continue
                log.warning(
                    "%d jobs are pending or running but no message is queued for them; "
                    "stopping (see `omni jobs --status pending`)",
                    unfinished,
                )
            # Two consecutive empty checks: a message is never invisible to both.
            idle_checks += 1
            if idle_checks >= 2:
                log.info("all queues are empty and no job is pending; stopping the workers")
                return


# --------------------------------------------------------------------------- refresh / jobs


def refresh(
    domain: str = typer.Argument(..., help="The domain to refresh."),
    job_type: str = typer.Option(
        "full", "--type", help="crawl | extract | optimize | embed | full"
    ),
    force: bool = typer.Option(False, "--force", help="Redo even content that has not changed."),
) -> None:
    """Queue refresh jobs for a domain."""
    # Dramatiq's Redis broker: ~0.2 s, only for commands that queue jobs
    from workers.refresh import queue_refresh  # noqa: PLC0415 - see the comment above

    with connect(autocommit=True) as conn:
        ids = queue_refresh(conn, domain, job_type, force)
    for job_id in ids:
        typer.echo(f"queued {job_type} job {job_id}")


@jobs_app.callback()
def jobs_list(
    ctx: typer.Context,
    status: str | None = typer.Option(
        None, "--status", help="pending | running | completed | failed"
    ),
    domain: str | None = typer.Option(None, "--domain"),
    limit: int = typer.Option(50, "--limit", min=1),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List refresh jobs, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    # Dramatiq's Redis broker: ~0.2 s, only for commands that queue jobs
    from workers.refresh import list_jobs  # noqa: PLC0415 - see the comment above
    from workers.sweeper import flag_jobs  # noqa: PLC0415 - see the comment above

    with connect(autocommit=True) as conn:
        rows = list_jobs(conn, status, domain, limit)
    # stuck jobs are marked: lease expired, or pending with no message (the sweeper retries them)
    flag_jobs(rows, get_broker().client, get_settings())
    if as_json:
        typer.echo(json.dumps(rows, default=str, indent=2))
        return
    if not rows:
        typer.echo("no jobs")
        return

    table = Table(show_lines=False)
    for column in ("id", "domain", "type", "status", "created", "took", "details"):
        table.add_column(column, overflow="fold")
    for row in rows:
        took = ""
        if row["started_at"] and row["completed_at"]:
            took = f"{(row['completed_at'] - row['started_at']).total_seconds():.1f}s"
        shown = f"{row['status']} ({row['flag']})" if row["flag"] else row["status"]
        table.add_row(
            str(row["id"]),
            row["domain"] or "",
            row["job_type"],
            shown,
            row["created_at"].strftime("%Y-%m-%d %H:%M:%S"),
            took,
            _details(row),
        )
    Console(width=200).print(table)


def _details(row: dict) -> str:
    if row["error_message"]:
        return row["error_message"][:200]
    meta = row["metadata"] or {}
    keys = ("pages", "chunks", "chunks_embedded", "chunks_unchanged", "tokens", "cost")
    return " ".join(f"{k}={meta[k]}" for k in keys if k in meta)


@jobs_app.command("retry")
def jobs_retry(job_id: str = typer.Argument(..., help="The failed job's id.")) -> None:
    """Re-queue a failed job."""
    # Dramatiq's Redis broker: ~0.2 s, only for commands that queue jobs
    from workers.refresh import retry_job  # noqa: PLC0415 - see the comment above

    with connect(autocommit=True) as conn:
        row = retry_job(conn, job_id)
    typer.echo(f"re-queued {row['job_type']} job {row['id']}")


# --------------------------------------------------------------------------- search


def search(
    query: str = typer.Argument(..., help="What to look for."),
    domain: str = typer.Option(..., "--domain", "-d"),
    k: int = typer.Option(10, "-k", min=1, max=1000, help="How many chunks."),
    hybrid: bool = typer.Option(False, "--hybrid", help="Fuse vector and keyword ranking."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """Search a domain's embedded chunks (through `omni serve` when one is running)."""
    from interfaces.serve.client import running_server, search_through  # noqa: PLC0415 - httpx: only for search

    settings = get_settings()
    server = running_server(settings)
    results = search_through(server, query, domain, k, hybrid) if server else None
    if results is None:
        # numpy and the embedding backends: ~0.2 s, only for search
        from workers.search import search as run_search  # noqa: PLC0415 - see the comment above

        with connect(autocommit=True) as conn:
            results = run_search(conn, query, domain, k, hybrid, settings=settings)
    if as_json:
        typer.echo(json.dumps(results, ensure_ascii=False, indent=2))
        return
    if not results:
        typer.echo("no results")
        return
    for rank, item in enumerate(results, 1):
        similarity = "-" if item["similarity"] is None else f"{item['similarity']:.3f}"
        typer.echo(
            f"{rank}. {item['title'] or '(untitled)'}  {item.get('link', item['url'])}  "
            f"similarity={similarity}"
        )
        path = " > ".join(item["heading_path"])
        if path:
            typer.echo(f"   {path}")
        chunk = " ".join(item["chunk"].split())
        typer.echo(f"   {chunk[:300]}{'...' if len(chunk) > 300 else ''}")

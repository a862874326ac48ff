"""`omni crawl <domain-or-url>`: crawl a site now (registering the domain if it is new)."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

SUMMARY_KEYS = (
    "pages_seen",
    "new",
    "changed",
    "unchanged",
    "duplicate",
    "failed",
    "gone",
    "forgotten",
    "bytes",
    "duration_s",
    "rendered",
    "conditional_requests",
    "robots_skipped",
    "trap_skipped",
    "documents",
    "jobs_enqueued",
)


def crawl(
    target: str = typer.Argument(
        ..., help="A registered domain, a new domain, or a URL to start at."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
) -> None:
    """Crawl a site: pages into scraped_pages / website_content, new and changed pages enqueued."""
    # Scrapy's settings (~0.3 s to import): only for this command.
    from crawlers.run import create_crawl_job, run_crawl_subprocess  # noqa: PLC0415 - see the comment above

    domain, job_id = create_crawl_job(target)
    if as_json:
        stats = run_crawl_subprocess(job_id)
        typer.echo(json.dumps(stats, default=str, sort_keys=True))
    else:
        console = Console(stderr=True)
        with Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} pages"),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task(f"crawling {domain}", total=None, detail="")

            def on_progress(stats: dict[str, Any]) -> None:
                total = max(stats.get("scheduled", 0), stats.get("pages_seen", 0)) or None
                bar.update(
                    task,
                    completed=stats.get("pages_seen", 0),
                    total=total,
                    detail=f"new {stats.get('new', 0)} changed {stats.get('changed', 0)} "
                    f"unchanged {stats.get('unchanged', 0)} "
                    f"failed {stats.get('failed', 0)}",
                )

            stats = run_crawl_subprocess(job_id, progress=on_progress)
        _print_summary(stats)
    if stats.get("status") != "completed":
        raise typer.Exit(1)


def _print_summary(stats: dict[str, Any]) -> None:
    table = Table(title=f"crawl of {stats.get('domain')} ({stats.get('status')})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in SUMMARY_KEYS:
        if key in stats:
            table.add_row(key.replace("_", " "), str(stats[key]))
    table.add_row("job", str(stats.get("job_id")))
    Console().print(table)
    if stats.get("error"):
        typer.echo(f"error: {stats['error']}", err=True)


def register(app: typer.Typer) -> None:
    app.command("crawl")(crawl)

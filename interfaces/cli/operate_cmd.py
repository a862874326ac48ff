"""Operating it: `omni scheduler`, `omni dashboard`, `omni demo`."""

from __future__ import annotations

import signal
import threading

import typer

from core.config import get_settings
from core.errors import InvalidValue
from db.connection import connect
from interfaces import scheduler as sched


def scheduler(
    once: bool = typer.Option(False, "--once", help="Do one pass and exit."),
    interval: float | None = typer.Option(
        None, "--interval", help="Seconds between passes (default OMNI_SCHEDULER_INTERVAL, 60)."
    ),
) -> None:
    """Queue crawls for domains that are due and refreshes for stale content; keep each large
    domain's own vector index built (not with --once: `omni db vector-indexes` does that)."""
    if once:
        with connect(autocommit=False) as conn:
            result = sched.Scheduler(conn).run_once()
        typer.echo(result.summary())
        for domain in result.crawls:
            typer.echo(f"crawl queued: {domain}")
        for domain in result.refreshes:
            typer.echo(f"refresh queued: {domain}")
        for error in result.errors:
            typer.echo(f"error: {error}", err=True)
        if result.errors:
            raise typer.Exit(1)
        return
    period = interval if interval is not None else get_settings().scheduler_interval
    if period <= 0:
        raise InvalidValue("--interval must be positive")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    typer.echo(f"scheduler: a pass every {period:g}s (Ctrl-C to stop)")
    sched.run_forever(period, stop, on_pass=lambda r: typer.echo(r.summary()))


def dashboard(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
) -> None:
    """Serve the monitoring dashboard (and /metrics, /healthz)."""
    # Starlette and uvicorn: ~0.2 s, only for the dashboard
    from dashboard.app import serve  # noqa: PLC0415 - see the comment above

    serve(host, port)


def demo(
    no_dashboard: bool = typer.Option(False, "--no-dashboard", help="Exit after the summary."),
    port: int = typer.Option(8000, "--port", help="Dashboard port."),
) -> None:
    """Serve a bundled sample site, crawl, extract, embed it, and show it on the dashboard."""
    # the dashboard and search: ~0.4 s, only for the demo
    from interfaces.demo_site.run import run_demo  # noqa: PLC0415 - see the comment above

    run_demo(dashboard=not no_dashboard, dashboard_port=port)


def register(app: typer.Typer) -> None:
    app.command("scheduler")(scheduler)
    app.command("dashboard")(dashboard)
    app.command("demo")(demo)

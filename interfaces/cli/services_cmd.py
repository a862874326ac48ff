"""`omni services up|down|status`: the embedded Postgres and Redis."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from core.endpoints import redact_url
from interfaces import services

app = typer.Typer(
    help="Embedded Postgres and Redis (used when DATABASE_URL / REDIS_URL are unset).",
    no_args_is_help=True,
)
console = Console()


def redact(url: str | None) -> str:
    """A URL with its password shown as *** (`omni db url` prints the full one)."""
    return redact_url(url) if url else "-"


def _print(statuses: list[services.ServiceStatus]) -> None:
    table = Table("service", "state", "url", "pid", "data")
    for s in statuses:
        state = ("running" if s.running else "stopped") + ("" if s.embedded else " (external)")
        table.add_row(s.name, state, redact(s.url), str(s.pid or "-"), str(s.data_dir))
    console.print(table)


@app.command()
def up() -> None:
    """Start (or reuse) the embedded services and print their URLs."""
    _print(services.up())


@app.command()
def down() -> None:
    """Stop the embedded services."""
    stopped = services.down()
    typer.echo("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@app.command()
def status() -> None:
    """Show whether the services run and where."""
    _print(services.status())

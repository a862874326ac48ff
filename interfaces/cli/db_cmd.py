"""`omni db migrate|url|status|refresh-stats|vector-indexes`."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from db import migrate as migrations
from db.connection import Conn, connect, one
from db.vector_indexes import existing_indexes, sync
from interfaces.services import database_url

app = typer.Typer(help="Database: migrations, DSN and status.", no_args_is_help=True)
console = Console()


@app.command("migrate")
def migrate_cmd() -> None:
    """Apply pending migrations (safe to re-run)."""
    with connect(autocommit=True) as conn:
        applied = migrations.migrate(conn)
    if applied:
        for m in applied:
            typer.echo(f"applied {m.path.name}")
    else:
        typer.echo("database is up to date")


@app.command("url")
def url_cmd() -> None:
    """Print only the DSN (starts embedded Postgres if needed)."""
    typer.echo(database_url())


def table_row_counts(conn: Conn) -> list[tuple[str, int]]:
    tables = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename <> 'schema_migrations' ORDER BY tablename"
    ).fetchall()
    counts = []
    for row in tables:
        name = row["tablename"]
        count = one(conn.execute(f'SELECT count(*) AS n FROM public."{name}"'))["n"]
        counts.append((name, count))
    return counts


@app.command("status")
def status_cmd() -> None:
    """Applied and pending migrations, and row counts."""
    with connect(autocommit=True) as conn:
        done = migrations.applied(conn)
        pending = migrations.pending(conn)
        known = migrations.discover()
        covered = migrations.satisfied(set(done), known)
        table = Table("migration", "state", "applied at")
        for m in known:
            row = done.get(m.version)
            state = "applied" if row else "in the baseline" if m.version in covered else "pending"
            table.add_row(m.path.name, state, str(row["applied_at"]) if row else "-")
        console.print(table)
        counts = Table("table", "rows")
        for name, count in table_row_counts(conn):
            counts.add_row(name, str(count))
        console.print(counts)
        typer.echo(f"{len(done)} applied, {len(pending)} pending")


@app.command("refresh-stats")
def refresh_stats_cmd() -> None:
    """Recompute the domain_content_stats materialized view (concurrently; readers not blocked)."""
    with connect(autocommit=True) as conn:
        conn.execute("SELECT public.refresh_domain_content_stats()")
        count = one(conn.execute("SELECT count(*) AS n FROM public.domain_content_stats"))["n"]
    typer.echo(f"refreshed domain_content_stats ({count} domains)")


@app.command("vector-indexes")
def vector_indexes_cmd(
    min_rows: int = typer.Option(
        None,
        "--min-rows",
        min=1,
        help="chunks a domain needs for its own index (default OMNI_SEARCH_DOMAIN_INDEX_ROWS)",
    ),
) -> None:
    """Build each large domain's own HNSW index, drop those no longer needed (concurrently)."""
    with connect(autocommit=True) as conn:
        result = sync(conn, min_rows)
        total = sum(1 for valid in existing_indexes(conn).values() if valid)
    for name in result["created"]:
        typer.echo(f"created {name}")
    for name in result["dropped"]:
        typer.echo(f"dropped {name}")
    typer.echo(f"{total} domain vector indexes")

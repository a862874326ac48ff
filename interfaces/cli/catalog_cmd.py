"""`omni catalog add|sync|list`: catalogue sync from a shop's own API (docs/catalog.md)."""

from __future__ import annotations

import json

import typer

from db import jobs
from db.connection import connect
from workers.catalog.sources import add_source

app = typer.Typer(
    help="Products from the shop's own API (WooCommerce, Shopify).", no_args_is_help=True
)


@app.command("add")
def add(
    domain: str = typer.Argument(..., help="A registered domain."),
    platform: str = typer.Option(..., "--platform", help="woocommerce | shopify"),
    url: str | None = typer.Option(
        None,
        "--url",
        help="The store's base URL (default: the "
        "WooCommerce URL stored with the credentials, or https://<domain>).",
    ),
) -> None:
    """Register (or update) a domain's catalogue source; the scheduler syncs it like a crawl."""
    # Dramatiq's Redis broker: ~0.2 s, only for commands that queue jobs
    from workers.refresh import find_domain  # noqa: PLC0415 - see the comment above

    with connect(autocommit=True) as conn:
        row = find_domain(conn, domain)
        if url is None and platform == "shopify":
            url = f"https://{row['domain']}"
        source = add_source(conn, row["id"], platform, url)
    typer.echo(
        f"catalogue source {source['platform']} for {row['domain']} "
        f"url={source['base_url'] or '(from the WooCommerce credentials)'}"
    )


@app.command("sync")
def sync(
    domain: str = typer.Argument(..., help="A registered domain with a catalogue source."),
    platform: str | None = typer.Option(None, "--platform", help="Only this source."),
) -> None:
    """Queue a catalogue sync job (a worker on the `catalog` queue runs it)."""
    # Dramatiq's Redis broker: ~0.2 s, only for commands that queue jobs
    from workers.dispatch import send_job  # noqa: PLC0415 - see the comment above
    from workers.refresh import find_domain  # noqa: PLC0415 - see the comment above

    with connect(autocommit=True) as conn:
        row = find_domain(conn, domain)
        job_id = jobs.create(
            conn,
            row["id"],
            jobs.JobType.CATALOG,
            {"requested_by": "cli", **({"platform": platform} if platform else {})},
        )
    send_job(job_id, jobs.JobType.CATALOG)
    typer.echo(f"queued catalog job {job_id}")


@app.command("list")
def list_sources(as_json: bool = typer.Option(False, "--json")) -> None:
    """Catalogue sources with their last sync."""
    with connect(autocommit=True) as conn:
        rows = conn.execute(
            "SELECT d.domain, s.platform, s.base_url, s.products, s.last_synced_at, "
            "s.last_status, s.last_error FROM catalog_sources s JOIN domains d ON d.id = "
            "s.domain_id "
            "ORDER BY d.domain, s.platform"
        ).fetchall()
    if as_json:
        typer.echo(json.dumps(rows, default=str, indent=2))
        return
    for r in rows:
        typer.echo(
            f"{r['domain']}  {r['platform']}  products={r['products']}  "
            f"last sync={r['last_synced_at'] or 'never'}  status={r['last_status'] or '-'}"
            + (f"  error={r['last_error']}" if r["last_error"] else "")
        )

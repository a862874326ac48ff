"""`omni customer add` and `omni domain add|list`."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from core.config import get_settings
from core.domains import normalize_domain
from core.errors import NotFound, OmniError
from db import domain_claims, tenants
from db.connection import connect
from db.forget import forget
from db.knowledge_rules import apply_knowledge_rules

customer_app = typer.Typer(help="Customers (tenants).", no_args_is_help=True)
domain_app = typer.Typer(help="Domains to crawl.", no_args_is_help=True)
console = Console()


@customer_app.command("add")
def customer_add(
    email: str = typer.Argument(..., help="The customer's email (unique)."),
    name: str | None = typer.Option(None, help="Contact name."),
    company: str | None = typer.Option(None, help="Company name."),
    auth_user_id: str | None = typer.Option(
        None,
        "--auth-user-id",
        help="Link to this auth user (on Supabase: a Supabase Auth user's id).",
    ),
) -> None:
    """Create a customer linked to its auth user; re-running updates it. On Supabase the auth user
    is the Supabase Auth user with this email (or --auth-user-id); elsewhere one is created."""
    with connect() as conn:
        row = tenants.add_customer(conn, email, name, company, auth_user_id)
    typer.echo(f"customer {row['email']} id={row['id']}")


@domain_app.command("add")
def domain_add(
    domain: str = typer.Argument(
        ..., help="A domain or URL; its host (and non-default port) is used."
    ),
    frequency: str | None = typer.Option(
        None,
        "--frequency",
        help="hourly|daily|weekly|monthly or a cron expression (default weekly).",
    ),
    max_pages: int | None = typer.Option(None, "--max-pages", min=1, help="Page limit per crawl."),
    render_js: bool | None = typer.Option(
        None, "--render-js/--no-render-js", help="Render pages in Chromium."
    ),
    customer: str | None = typer.Option(
        None, "--customer", help="Owner's email (customer add first)."
    ),
    include: list[str] | None = typer.Option(
        None,
        "--include",
        help="Only URLs matching this glob are knowledge (repeatable; e.g. '/docs/*').",
    ),
    exclude: list[str] | None = typer.Option(
        None,
        "--exclude",
        help="URLs matching this glob are crawled but not knowledge (repeatable; "
        "e.g. '/genindex*').",
    ),
    clear_patterns: bool = typer.Option(
        False, "--clear-patterns", help="Remove the domain's include/exclude patterns."
    ),
) -> None:
    """Register a domain (or update its settings)."""
    name = normalize_domain(domain)
    # typer gives [] for a list option not used: None keeps the stored patterns
    include, exclude = include or None, exclude or None
    if clear_patterns:
        include, exclude = include or [], exclude or []
    with connect() as conn:
        owner = None
        if customer:
            owner = tenants.get_customer(conn, customer)
            if owner is None:
                raise NotFound(
                    f"no customer {customer!r}; run `omni customer add {customer}` first"
                )
        row = tenants.add_domain(
            conn,
            name,
            frequency=frequency,
            max_pages=max_pages,
            render_js=render_js,
            customer=owner,
            include=include,
            exclude=exclude,
        )
        changed = apply_knowledge_rules(conn, row)
    rules = row["knowledge_rules"] or {}
    typer.echo(
        f"domain {row['domain']} id={row['id']} frequency={row['scrape_frequency']} "
        f"max_pages={row['max_pages'] or 'default'} render_js={row['render_js']}"
        + "".join(
            f" {key}={','.join(rules[key])}" for key in ("include", "exclude") if rules.get(key)
        )
    )
    if changed.excluded:
        typer.echo(
            f"{changed.excluded} stored pages left the knowledge base "
            f"({changed.chunks_removed} chunks removed)"
        )
    if changed.included:
        typer.echo(
            f"{changed.included} stored pages are knowledge again: "
            f"run `omni refresh {row['domain']} --type embed` to embed them"
        )


@domain_app.command("verify")
def domain_verify(
    domain: str = typer.Argument(..., help="The claimed domain (or URL)."),
) -> None:
    """Check the pending claims on a domain: the claim whose token the site serves at
    /.well-known/omni-ingest-verification.txt gets the domain (registered, or transferred)."""
    # The address policy is Scrapy-settings based (~0.3 s to import): only for this command.
    from crawlers.address_policy import AddressPolicy  # noqa: PLC0415 - see the comment above
    from interfaces.verification import VerificationError, fetch_proof, token_found  # noqa: PLC0415 - see the comment above

    name = normalize_domain(domain)
    with connect() as conn:
        claims = domain_claims.pending(conn, name)
        conn.commit()
        if not claims:
            raise NotFound(f"no pending claim on {name}")
        try:
            body = fetch_proof(name, AddressPolicy.from_settings(get_settings()))
        except VerificationError as exc:
            for claim in claims:
                domain_claims.mark_failed(conn, claim["id"], str(exc))
            conn.commit()
            raise OmniError(f"could not verify {name}: {exc}") from None
        winner = next((c for c in claims if token_found(body, c["token"])), None)
        for claim in claims:
            if claim is not winner:
                domain_claims.mark_failed(conn, claim["id"], "token not served by the site")
        conn.commit()
        if winner is None:
            raise OmniError(f"{name} serves no pending claim's token")
        result = domain_claims.grant(conn, winner)
    moved = (
        " (transferred from its previous owner)"
        if result["previous_owner"] not in (None, winner["user_id"])
        else ""
    )
    typer.echo(f"verified {name} for user {winner['user_id']}{moved}")


@domain_app.command("forget")
def domain_forget(
    domain: str = typer.Argument(..., help="A registered domain (or URL)."),
    pattern: str = typer.Argument(
        ..., help="A page URL, a URL with * wildcards, or a path pattern such as /private/*."
    ),
    reason: str = typer.Option(
        "requested by the site owner", "--reason", help="Why (kept in the domain's config)."
    ),
) -> None:
    """Remove pages from the knowledge and keep them out of future crawls."""
    name = normalize_domain(domain)
    with connect() as conn:
        row = tenants.get_domain(conn, name)
        if row is None:
            raise NotFound(f"unknown domain {name!r} (add it with `omni domain add {name}`)")
        result = forget(conn, row["id"], pattern, reason)
        conn.commit()
    typer.echo(
        f"forgot {result['removed']['scraped_pages']} page(s) of {name} matching "
        f"{result['pattern']}; future crawls skip them"
    )


@domain_app.command("list")
def domain_list() -> None:
    """List registered domains."""
    with connect() as conn:
        rows = tenants.list_domains(conn)
    table = Table(
        "domain",
        "customer",
        "frequency",
        "max pages",
        "js",
        "pages",
        "last scraped",
        "documents",
        "API products",
        "last catalogue sync",
    )
    for r in rows:
        table.add_row(
            r["domain"],
            r["customer_email"] or "-",
            r["scrape_frequency"] or "-",
            str(r["max_pages"] or "default"),
            "yes" if r["render_js"] else "no",
            str(r["pages"]),
            str(r["last_scraped_at"] or "never"),
            *source_cells(r),
        )
    console.print(table)


def source_cells(row: dict) -> list[str]:
    """Documents (and failed ones), API products and the last catalogue sync (pure)."""
    documents = str(row["documents"]) + (
        f" ({row['documents_failed']} failed)" if row["documents_failed"] else ""
    )
    if row["catalog_status"] is None:
        sync = "-"
    else:
        when = row["last_catalog_sync"]
        sync = f"{when:%Y-%m-%d %H:%M} ({row['catalog_status']})" if when else row["catalog_status"]
    return [documents, str(row["api_products"]), sync]

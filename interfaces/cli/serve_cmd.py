"""`omni serve` (the retrieval API) and `omni serve key create|list|revoke` (docs/serve.md)."""

from __future__ import annotations

import typer

from core.config import get_settings
from db import api_keys
from db.connection import connect

app = typer.Typer(
    help="The HTTP retrieval API for chat applications, and its API keys.",
    invoke_without_command=True,
)
key_app = typer.Typer(
    help="API keys: one per customer application, shown once, stored hashed.", no_args_is_help=True
)
app.add_typer(key_app, name="key")


@app.callback()
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    port: int = typer.Option(8787, "--port", help="Port to listen on (0: any free port)."),
) -> None:
    """Serve POST /v1/search with the embedding model loaded once."""
    if ctx.invoked_subcommand is not None:
        return
    from interfaces.serve.runner import run  # noqa: PLC0415 - Starlette and the model: only when serving

    run(get_settings(), host, port)


@key_app.command("create")
def create(
    customer: str = typer.Option(..., "--customer", help="The customer's email."),
    label: str | None = typer.Option(None, "--label", help="What the key is for."),
) -> None:
    """Create a key for a customer and print it (once: only its hash is kept)."""
    with connect(autocommit=True) as conn:
        row, key = api_keys.create(conn, customer, label)
    typer.echo(key)
    typer.echo(
        f"key id {row['key_id']} for {customer}: store it now, it is not shown again", err=True
    )


@key_app.command("list")
def list_keys() -> None:
    """Every key: id, customer, label, created, last used, revoked."""
    with connect(autocommit=True) as conn:
        rows = api_keys.list_keys(conn)
    for r in rows:
        state = f"revoked {r['revoked_at']:%Y-%m-%d}" if r["revoked_at"] else "active"
        used = f"{r['last_used_at']:%Y-%m-%d %H:%M}" if r["last_used_at"] else "never"
        typer.echo(f"{r['key_id']}  {r['email']}  {r['label'] or '-'}  {state}  last used {used}")


@key_app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="The key id (`omni serve key list`).")) -> None:
    """Revoke a key: the server refuses it from the next request on."""
    with connect(autocommit=True) as conn:
        api_keys.revoke(conn, key_id)
    typer.echo(f"revoked {key_id}")

"""`omni secrets generate-key|set-woocommerce|rotate`: encrypted credentials (core/crypto.py)."""

from __future__ import annotations

import typer

from core.crypto import Keyring, generate_key
from core.domains import normalize_domain
from core.errors import OmniError
from db.connection import connect
from db.credentials import rotate, set_woocommerce

app = typer.Typer(help="Encrypted credentials.", no_args_is_help=True)


@app.command("generate-key")
def generate_key_cmd() -> None:
    """Print a new random AES-256 key for OMNI_ENCRYPTION_KEY."""
    typer.echo(generate_key())


@app.command("set-woocommerce")
def set_woocommerce_cmd(
    domain: str = typer.Argument(..., help="A registered domain (or URL)."),
    key: str | None = typer.Option(None, "--key", help="Consumer key (prompted if omitted)."),
    secret: str | None = typer.Option(
        None, "--secret", help="Consumer secret (prompted if omitted)."
    ),
    url: str | None = typer.Option(None, "--url", help="The store's base URL."),
) -> None:
    """Store a domain's WooCommerce API credentials, encrypted (reads stdin when not a terminal)."""
    ring = Keyring.from_settings()  # fail on a missing/bad key before asking for secrets
    name = normalize_domain(domain)
    if key is None:
        key = typer.prompt("consumer key", hide_input=True)
    if secret is None:
        secret = typer.prompt("consumer secret", hide_input=True)
    with connect() as conn:
        set_woocommerce(conn, name, key.strip(), secret.strip(), url=url, keyring=ring)
    typer.echo(f"stored WooCommerce credentials for {name} (key {ring.current_kid})")


@app.command("rotate")
def rotate_cmd(
    reason: str = typer.Option(
        "scheduled key rotation", "--reason", help="Why (recorded in the audit trail)."
    ),
) -> None:
    """Re-encrypt every stored value not under the first OMNI_ENCRYPTION_KEY key (one transaction).

    Values that cannot be read are skipped and listed (table, column, domain); the command then
    exits non-zero."""
    ring = Keyring.from_settings()
    with connect() as conn:
        result = rotate(conn, ring, reason=reason)
    for line in result.skipped:
        typer.echo(f"skipped {line}")
    if result.skipped:
        raise OmniError(
            f"re-encrypted {result.rotated} value(s); {len(result.skipped)} value(s) "
            "could not be read and were skipped (listed above)"
        )
    typer.echo(
        f"re-encrypted {result.rotated} value(s); all values are now under key {ring.current_kid}"
    )

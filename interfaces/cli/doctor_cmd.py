"""`omni doctor`: is everything the system needs here and working? One line per check."""

from __future__ import annotations

import typer

from core.config import get_settings
from interfaces import doctor as checks


def doctor(
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    check: list[str] = typer.Option(
        [],
        "--check",
        help="Run only this check (repeatable): postgres, pgvector, pg_trgm, "
        "migrations, vector-selftest, redis, chromium, tiktoken, embedding-model, "
        "encryption-key, openai.",
    ),
) -> None:
    """Check Postgres (version, pgvector, pg_trgm, migrations, the embedded build's vector
    self-test), Redis, Chromium, tiktoken, the local embedding model, the encryption key and the
    OpenAI-compatible endpoint. Exits 1 when any check fails."""
    results = checks.run_checks(get_settings(), check or None)
    typer.echo(checks.to_json(results) if as_json else checks.format_report(results))
    code = checks.exit_code(results)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)

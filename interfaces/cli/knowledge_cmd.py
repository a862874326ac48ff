"""`omni knowledge add|edit|list|remove`: curated answers (db/knowledge.py)."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from db import knowledge
from db.connection import Conn, connect

app = typer.Typer(
    help="Curated answers: questions and answers searched before crawled text.",
    no_args_is_help=True,
)
console = Console()


def _sync_and_send(conn: Conn, domain_id: Any) -> Any:
    """Pages made to match the rows, committed; then the embed job's message is sent."""
    # Dramatiq's Redis broker: ~0.2 s, only for commands that queue jobs
    from workers.dispatch import send_job  # noqa: PLC0415 - see the comment above

    job_id, _ = knowledge.sync_job(conn, domain_id)
    conn.commit()
    if job_id is not None:
        send_job(job_id, "embed")
    return job_id


@app.command("add")
def add(
    domain: str = typer.Option(..., "--domain", help="A registered domain."),
    question: str = typer.Option(
        ..., "--question", help="The question (for --type text: a title)."
    ),
    answer: str = typer.Option(..., "--answer", help="The answer (for --type text: the text)."),
    kind: str = typer.Option("qa", "--type", help="qa | text"),
) -> None:
    """Add a curated answer; an embed job makes it searchable."""
    from workers.refresh import find_domain  # noqa: PLC0415 - Dramatiq's broker: only for commands that queue

    with connect() as conn:
        row = knowledge.add(conn, find_domain(conn, domain), question, answer, kind)
        job_id = _sync_and_send(conn, row["domain_id"])
    typer.echo(f"curated answer {row['id']} for {domain} (embed job {job_id})")


@app.command("edit")
def edit(
    answer_id: str = typer.Argument(...),
    question: str | None = typer.Option(None, "--question"),
    answer: str | None = typer.Option(None, "--answer"),
) -> None:
    """Change a curated answer; only it is embedded again."""
    with connect() as conn:
        row = knowledge.edit(conn, answer_id, question, answer)
        job_id = _sync_and_send(conn, row["domain_id"])
    typer.echo(f"curated answer {row['id']} changed (embed job {job_id})")


@app.command("remove")
def remove(answer_id: str = typer.Argument(...)) -> None:
    """Delete a curated answer; it leaves search at once."""
    with connect() as conn:
        row = knowledge.remove(conn, answer_id)
        conn.commit()
    typer.echo(f"curated answer {row['id']} removed")


@app.command("list")
def list_cmd(
    domain: str | None = typer.Option(None, "--domain"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Curated answers with their status and chunk count."""
    from workers.refresh import find_domain  # noqa: PLC0415 - Dramatiq's broker: only for commands that queue

    with connect() as conn:
        rows = knowledge.list_answers(conn, find_domain(conn, domain)["id"] if domain else None)
    if as_json:
        typer.echo(json.dumps(rows, default=str, indent=2))
        return
    table = Table("id", "domain", "type", "question", "status", "chunks")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["domain"],
            r["type"],
            r["question"][:60],
            r["status"] or "-",
            str(r["chunks"]),
        )
    console.print(table)

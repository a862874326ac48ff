"""`omni privacy request|list|show|close`: GDPR/CCPA requests (docs/privacy.md)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from core.errors import NotFound
from db import jobs, privacy
from db.connection import connect

app = typer.Typer(
    help="Privacy requests: export or erase a data subject's data.", no_args_is_help=True
)
console = Console()


@app.command("request")
def request_cmd(
    domain: str = typer.Argument(..., help="The domain the subject used."),
    request_type: str = typer.Option(
        ...,
        "--type",
        help="access | portability (an export), "
        "deletion (an erasure), rectification | opt_out (tracked, "
        "done by an operator).",
    ),
    email: str | None = typer.Option(None, "--email", help="The subject's email."),
    session: str | None = typer.Option(None, "--session", help="The subject's chat session id."),
    regulation: str = typer.Option("gdpr", "--regulation", help="gdpr | ccpa | other"),
    note: str | None = typer.Option(None, "--note", help="Why, or how the subject was verified."),
) -> None:
    """File a request; export and erasure are queued as a `privacy` job."""
    # Dramatiq's Redis broker: ~0.2 s, only for commands that queue jobs
    from workers.dispatch import send_job  # noqa: PLC0415 - see the comment above
    from workers.refresh import find_domain  # noqa: PLC0415 - see the comment above

    with connect() as conn:
        row = find_domain(conn, domain)
        created = privacy.create(
            conn,
            row["id"],
            request_type,
            email=email,
            session_id=session,
            regulation=regulation,
            note=note,
        )
        conn.commit()
    if created["job_id"] is not None:
        send_job(created["job_id"], jobs.JobType.PRIVACY)
    queued = f" job {created['job_id']}" if created["job_id"] else " (carried out by an operator)"
    typer.echo(
        f"privacy request {created['id']} {request_type} due {created['due_at']:%Y-%m-%d}{queued}"
    )


@app.command("list")
def list_cmd(
    domain: str | None = typer.Option(None, "--domain", help="Only this domain's requests."),
    open_only: bool = typer.Option(False, "--open", help="Only pending and in-progress requests."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Requests, overdue first, then newest."""
    from workers.refresh import find_domain  # noqa: PLC0415 - Dramatiq's broker: only for commands that queue

    with connect() as conn:
        domain_id = find_domain(conn, domain)["id"] if domain else None
        rows = privacy.list_requests(conn, domain_id=domain_id, open_only=open_only)
    if as_json:
        typer.echo(json.dumps([_public(r) for r in rows], default=str, indent=2))
        return
    table = Table("id", "domain", "type", "status", "due", "overdue", "completed", "job")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["domain"] or "-",
            r["request_type"],
            r["status"],
            f"{r['due_at']:%Y-%m-%d}" if r["due_at"] else "-",
            "OVERDUE" if r["overdue"] else "",
            str(r["completed_at"] or "-"),
            r["job_status"] or "-",
        )
    console.print(table)


@app.command("show")
def show_cmd(
    request_id: str = typer.Argument(...),
    export: Path | None = typer.Option(None, "--export", help="Write the export document here."),
) -> None:
    """One request with its summary (and its export document, to a file)."""
    with connect() as conn:
        row = privacy.get(conn, request_id)
    if row is None:
        raise NotFound(f"no privacy request {request_id}")
    document = (row["details"] or {}).get("export")
    if export is not None:
        if document is None:
            raise NotFound(f"privacy request {request_id} has no export document")
        export.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
        export.chmod(0o600)
    typer.echo(json.dumps(_public(row), default=str, indent=2))


@app.command("close")
def close_cmd(
    request_id: str = typer.Argument(...),
    summary: str = typer.Option(..., "--summary", help="What was done (or why it is rejected)."),
    rejected: bool = typer.Option(False, "--rejected", help="Close it as rejected."),
) -> None:
    """Close a request an operator carried out (rectification, opt-out) or rejects."""
    status = privacy.RequestStatus.REJECTED if rejected else privacy.RequestStatus.COMPLETED
    with connect() as conn:
        row = privacy.close(conn, request_id, status, summary)
        conn.commit()
    typer.echo(f"privacy request {row['id']} {row['status']}")


def _public(row: dict) -> dict:
    """The row without its export document (which `show --export` writes to a file)."""
    details = dict(row["details"] or {})
    if "export" in details:
        details["export"] = (
            f"{len(details['export'].get('tables', {}))} tables (show --export FILE)"
        )
    return {**row, "details": details}

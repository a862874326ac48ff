"""`omni`: entry point.

The error rule: a failure the user can fix (an `core.errors.OmniError`: bad arguments, unknown
domains or jobs, invalid settings, services or migrations that fail; a database that cannot be
reached, or one whose schema is missing or behind: a brand-new data dir) ends with a one-line
message on stderr and exit status 1, its traceback printed before it
only with `omni --debug ...` or OMNI_LOG_LEVEL=DEBUG. Anything else is a bug and keeps its
traceback."""

from __future__ import annotations

import logging
import sys
import traceback

import click
import psycopg
import typer

from core import processes
from core.config import get_settings
from core.errors import OmniError
from interfaces.cli import (
    catalog_cmd,
    crawl_cmd,
    db_cmd,
    doctor_cmd,
    extract_cmd,
    knowledge_cmd,
    operate_cmd,
    privacy_cmd,
    secrets_cmd,
    serve_cmd,
    services_cmd,
    tenants_cmd,
    workers_cmd,
)

app = typer.Typer(
    name="omni",
    help="Omni ingest: crawl customer sites, detect change, extract, optimise and embed.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(services_cmd.app, name="services")
app.add_typer(db_cmd.app, name="db")
app.add_typer(secrets_cmd.app, name="secrets")
app.add_typer(tenants_cmd.customer_app, name="customer")
app.add_typer(tenants_cmd.domain_app, name="domain")
app.add_typer(catalog_cmd.app, name="catalog")
app.add_typer(privacy_cmd.app, name="privacy")
app.add_typer(knowledge_cmd.app, name="knowledge")
app.add_typer(serve_cmd.app, name="serve")
crawl_cmd.register(app)
workers_cmd.register(app)
operate_cmd.register(app)
doctor_cmd.register(app)
extract_cmd.register(app)


# Commands that must not start the embedded services: they inspect or stop them, (the demo)
# start them with their own progress output, or (extract) read pages without storing them.
_NO_SERVICES = frozenset({"services", "doctor", "demo", "extract"})


@app.callback()
def _options(
    ctx: typer.Context,
    debug: bool = typer.Option(
        False, "--debug", help="Log at DEBUG and show the traceback behind an error."
    ),
) -> None:
    if debug:
        logging.getLogger().setLevel(logging.DEBUG)
    if ctx.invoked_subcommand not in _NO_SERVICES and not {"--help", "-h"} & set(sys.argv):
        # The one place the embedded Postgres and Redis start (when DATABASE_URL / REDIS_URL
        # are unset); everything below, and every process spawned, only looks them up.
        from interfaces import services  # noqa: PLC0415 - see the comment above

        services.up()


def _debugging() -> bool:
    return logging.getLogger().isEnabledFor(logging.DEBUG)


# A table or function of the schema is missing: the database was never migrated (a new data
# dir, a new DATABASE_URL) or is behind this version.
_UNMIGRATED = (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedFunction)


def is_user_error(exc: BaseException) -> bool:
    """One line, no traceback: failures the user can fix (the module docstring's rule)."""
    # OperationalError: the database is not reachable (or went away); its other errors are bugs.
    return isinstance(exc, (OmniError, psycopg.OperationalError, *_UNMIGRATED))


def user_message(exc: BaseException) -> str:
    message = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, _UNMIGRATED):
        message = (
            f"{message.split(' LINE ')[0]}: the database schema is missing or behind; "
            "run `omni db migrate`"
        )
    return message


def main() -> None:
    processes.die_with_parent()
    try:
        logging.basicConfig(
            level=get_settings().log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        # Without standalone mode, click returns a command's `typer.Exit(code)` instead of
        # exiting with it.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except Exception as exc:
        # typer vendors its own click, whose exceptions derive from the public TyperException
        # and show themselves (a usage error with its usage line); plain click's too.
        if isinstance(exc, (click.exceptions.ClickException, typer.TyperException)):
            show = getattr(exc, "show", None)
            if callable(show):
                show()
            else:
                typer.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        if is_user_error(exc):
            if _debugging():  # `--debug` or OMNI_LOG_LEVEL=DEBUG
                traceback.print_exc()
            typer.echo(f"error: {user_message(exc)}", err=True)
            sys.exit(1)
        raise


if __name__ == "__main__":
    main()

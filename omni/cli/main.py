"""`omni`: entry point.

The error rule: a failure the user can fix (an `omni.errors.OmniError`: bad arguments, unknown
domains or jobs, invalid settings, services or migrations that fail; or a database that cannot be
reached) ends with a one-line message on stderr and exit status 1, its traceback printed before it
only with `omni --debug ...` or OMNI_LOG_LEVEL=DEBUG. Anything else is a bug and keeps its
traceback."""

from __future__ import annotations

import logging
import sys
import traceback

import click
import psycopg
import typer
from typer._click.exceptions import ClickException as TyperClickException

from omni import processes
from omni.cli import (
    catalog_cmd,
    crawl_cmd,
    db_cmd,
    doctor_cmd,
    operate_cmd,
    secrets_cmd,
    serve_cmd,
    services_cmd,
    tenants_cmd,
    workers_cmd,
)
from omni.config import get_settings
from omni.errors import OmniError

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
app.add_typer(serve_cmd.app, name="serve")
crawl_cmd.register(app)
workers_cmd.register(app)
operate_cmd.register(app)
doctor_cmd.register(app)


# Commands that must not start the embedded services: they inspect or stop them, or (the demo)
# start them with their own progress output.
_NO_SERVICES = frozenset({"services", "doctor", "demo"})


@app.callback()
def _options(ctx: typer.Context, debug: bool = typer.Option(
        False, "--debug", help="Log at DEBUG and show the traceback behind an error.")) -> None:
    if debug:
        logging.getLogger().setLevel(logging.DEBUG)
    if ctx.invoked_subcommand not in _NO_SERVICES and not {"--help", "-h"} & set(sys.argv):
        # The one place the embedded Postgres and Redis start (when DATABASE_URL / REDIS_URL
        # are unset); everything below, and every process spawned, only looks them up.
        from omni import services

        services.up()


def _debugging() -> bool:
    return logging.getLogger().isEnabledFor(logging.DEBUG)


def is_user_error(exc: BaseException) -> bool:
    """One line, no traceback: failures the user can fix (the module docstring's rule)."""
    # OperationalError: the database is not reachable (or went away); its other errors are bugs.
    return isinstance(exc, (OmniError, psycopg.OperationalError))


def main() -> None:
    processes.die_with_parent()
    try:
        logging.basicConfig(level=get_settings().log_level.upper(),
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
        # typer vendors its own click; catch both its exceptions and plain click's.
        if isinstance(exc, (click.exceptions.ClickException, TyperClickException)):
            exc.show()
            sys.exit(exc.exit_code)
        if is_user_error(exc):
            if _debugging():  # `--debug` or OMNI_LOG_LEVEL=DEBUG
                traceback.print_exc()
            message = " ".join(str(exc).split()) or type(exc).__name__
            typer.echo(f"error: {message}", err=True)
            sys.exit(1)
        raise


if __name__ == "__main__":
    main()

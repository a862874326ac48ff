"""The CLI's error rule (interfaces/cli/main.py): a failure the user can fix is one line and exit 1;
a bug keeps its traceback; `--debug` shows the traceback of a user error too."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from pydantic import ValidationError

from core.config import InvalidSettings, Settings, describe_invalid
from core.crypto import MissingKey
from core.domains import InvalidDomain
from core.endpoints import ServiceError
from core.errors import InvalidValue, NotFound, OmniError
from db import jobs, tenants
from db.migrate import MigrationError
from interfaces.cli.main import is_user_error
from interfaces.services import EmbeddedPostgres, EmbeddedRedis
from tests.support.environment import database_on, fresh_database
from tests.support.paths import REPO, TEST_DATA_DIR
from tests.support.watchdog import stop_on_exit

OMNI = Path(sys.executable).parent / "omni"


@pytest.mark.parametrize(
    "exc,expected",
    [
        (OmniError("x"), True),
        (NotFound("no such job"), True),
        (InvalidValue("--interval must be positive"), True),
        (InvalidDomain("not a domain"), True),
        (InvalidSettings("invalid setting(s)"), True),
        (ServiceError("Postgres is not running"), True),
        (MigrationError("checksum changed"), True),
        (MissingKey("OMNI_ENCRYPTION_KEY is not set"), True),
        (psycopg.OperationalError("connection refused"), True),
        (ValueError("a bug"), False),
        (FileNotFoundError("a bug"), False),
        (KeyError("a bug"), False),
        (psycopg.errors.UndefinedTable("relation does not exist"), True),  # not migrated yet
        (psycopg.errors.UndefinedFunction("function does not exist"), True),
        (psycopg.errors.UndefinedColumn("column does not exist"), False),
        (psycopg.DataError("invalid input syntax"), False),
        (psycopg.ProgrammingError("a bug"), False),
    ],
)
def test_which_errors_are_the_users(exc: BaseException, expected: bool) -> None:
    assert is_user_error(exc) is expected


@pytest.mark.parametrize(
    "values,expected",
    [
        (
            {"OMNI_CRAWL_MAX_PAGES": "lots"},
            (
                "invalid setting(s): OMNI_CRAWL_MAX_PAGES: Input should be a valid integer, "
                "unable to parse "
                "string as an integer"
            ),
        ),
        (
            {"OMNI_OPTIMIZER": "magic", "OMNI_WORKER_METRICS": "maybe"},
            (
                "invalid setting(s): OMNI_OPTIMIZER: Input should be 'auto', 'openai' or "
                "'offline'; "
                "OMNI_WORKER_METRICS: Input should be a valid boolean, unable to interpret input"
            ),
        ),
    ],
)
def test_invalid_settings_name_each_variable(values: dict[str, str], expected: str) -> None:
    with pytest.raises(ValidationError) as info:
        Settings(**values)
    assert describe_invalid(info.value) == expected


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "OMNI_LOG_LEVEL": "INFO", **(env or {})}
    return subprocess.run(
        args, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=120, check=False
    )


# `omni doctor` starts no services, so these need neither Postgres nor Redis.
@pytest.mark.parametrize(
    "env,args,message",
    [
        ({}, ("doctor", "--check", "bogus"), "error: unknown check(s): bogus; known: postgres"),
        (
            {"OMNI_CRAWL_MAX_PAGES": "lots"},
            ("doctor",),
            "error: invalid setting(s): OMNI_CRAWL_MAX_PAGES: Input should be a valid integer",
        ),
    ],
)
def test_a_user_error_is_one_line(env: dict[str, str], args: tuple[str, ...], message: str) -> None:
    result = _run(str(OMNI), *args, env=env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(message), result.stderr


@pytest.mark.parametrize("how,env", [(("--debug",), {}), ((), {"OMNI_LOG_LEVEL": "DEBUG"})])
def test_debug_shows_the_traceback_of_a_user_error(
    how: tuple[str, ...], env: dict[str, str]
) -> None:
    result = _run(str(OMNI), *how, "doctor", "--check", "bogus", env=env)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "interfaces/doctor.py" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: unknown check(s): bogus")


_BUG = """
import sys
from interfaces import doctor
from interfaces.cli.main import main

def run_checks(settings, only=None):
    raise {error}("a bug in a check")

doctor.run_checks = run_checks
sys.argv = ["omni", "doctor"]
main()
"""


@pytest.mark.parametrize(
    "error", ["ValueError", "FileNotFoundError", "__import__('psycopg').ProgrammingError"]
)
def test_a_bug_keeps_its_traceback(error: str) -> None:
    result = _run(sys.executable, "-c", _BUG.format(error=error))
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "in run_checks" in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.endswith(": a bug in a check") and not last.startswith("error:")


def test_omni_jobs_on_a_database_never_migrated_is_one_line(services_env) -> None:
    """A brand-new data dir or DATABASE_URL: a one-line error naming the fix, no traceback."""

    admin_url = database_on(services_env["DATABASE_URL"], "postgres")
    with fresh_database(admin_url, "omni_unmigrated") as url:
        result = _run(str(OMNI), "jobs", env={**services_env, "DATABASE_URL": url})
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith('error: relation "content_refresh_jobs" does not exist')
    assert "run `omni db migrate`" in result.stderr


def test_omni_jobs_with_no_data_dir_set_and_no_services_is_one_line() -> None:
    """Run as on a new machine (no OMNI_DATA_DIR, DATABASE_URL nor REDIS_URL; a home of its
    own): it starts the embedded servers in the default data dir, then says in one line that
    the schema is missing (issue 27: this was an `UndefinedTable` traceback)."""

    # under the suite's data dir: the embedded Postgres's OS user must reach it
    home = TEST_DATA_DIR / f"home-{uuid.uuid4().hex[:8]}"
    data_dir = home / ".local" / "share" / "omni-ingest"  # platformdirs' default on Linux
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OMNI_DATA_DIR", "DATABASE_URL", "REDIS_URL", "XDG_DATA_HOME")
    }
    env["HOME"] = str(home)
    stop_on_exit(EmbeddedPostgres(data_dir))
    stop_on_exit(EmbeddedRedis(data_dir))
    try:
        result = subprocess.run(
            [str(OMNI), "jobs"], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
        )
        assert result.returncode == 1, result.stderr
        assert result.stderr.strip().splitlines() == [result.stderr.strip()], result.stderr
        assert result.stderr.startswith('error: relation "content_refresh_jobs" does not exist')
        assert "run `omni db migrate`" in result.stderr
        assert (data_dir / "postgres" / "data" / "PG_VERSION").exists()  # its own, by default
    finally:
        subprocess.run([str(OMNI), "services", "down"], cwd=REPO, env=env, timeout=120)
        shutil.rmtree(home, ignore_errors=True)


def test_omni_jobs_marks_stuck_jobs(db, services_env) -> None:
    """`omni jobs` tells a running job whose lease expired and a pending job no message
    carries from normal work (the sweeper's rule, workers.sweeper.orphan_reason)."""

    domain = tenants.add_domain(db, "stuck-cli.example")["id"]
    expired = jobs.create(db, domain, "embed", {"page_ids": []})
    jobs.start(db, expired)
    db.execute(
        "UPDATE content_refresh_jobs SET metadata = metadata || "
        '\'{"lease_expires_at": "2000-01-01T00:00:00+00:00"}\' WHERE id = %s',
        (expired,),
    )
    orphan = jobs.create(db, domain, "extract", {"page_ids": []})
    env = {**services_env, "OMNI_JOB_RESEND_AFTER_S": "0"}
    table = _run(str(OMNI), "jobs", env=env)
    assert "running (lease expired)" in table.stdout and "pending (no message)" in table.stdout
    rows = {
        r["id"]: r["flag"] for r in json.loads(_run(str(OMNI), "jobs", "--json", env=env).stdout)
    }
    assert rows == {str(expired): "lease expired", str(orphan): "no message"}

"""Fixtures for the database tests: two tenants' worlds, the `omni` CLI in a subprocess and a
scratch database (helpers live in tests/support/tenants.py)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator

import pytest

from tests.support.environment import database_on, fresh_database
from tests.support.paths import OMNI, REPO
from tests.support.tenants import Tenant, build_world


@pytest.fixture
def two_tenants(db) -> tuple[Tenant, Tenant]:
    return build_world(db, "alice"), build_world(db, "bob")


@pytest.fixture
def omni_cli(services_env) -> Callable[..., subprocess.CompletedProcess]:
    """Run the real `omni` entry point in a subprocess with the test environment."""

    def run(
        *args: str,
        env: dict[str, str] | None = None,
        input: str | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess:
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(
            [str(OMNI), *args],
            capture_output=True,
            text=True,
            env=full_env,
            input=input,
            timeout=timeout,
            cwd=REPO,
        )

    return run


@pytest.fixture
def scratch_database(services_env) -> Iterator[str]:
    """An empty database (not migrated) on the test server; dropped afterwards."""
    with fresh_database(
        database_on(services_env["DATABASE_URL"], "postgres"), "omni_scratch"
    ) as url:
        yield url

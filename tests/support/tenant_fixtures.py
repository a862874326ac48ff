"""Fixtures for the database tests: two tenants' worlds, the `omni` CLI in a subprocess and a
scratch database (helpers live in tests/support/tenants.py)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator

import psycopg
import pytest

from tests.support.paths import OMNI, REPO
from tests.support.tenants import Tenant, _u, build_world


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
    base = services_env["DATABASE_URL"].rsplit("/", 1)[0]
    name = f"omni_scratch_{os.getpid()}_{_u()}"
    with psycopg.connect(base + "/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(base + "/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

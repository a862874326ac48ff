"""compose.yaml is valid against the Compose Specification (schema vendored from
check-jsonschema, Apache-2.0: tests/ops/compose-spec.LICENSE) and deploys what the docs say."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import jsonschema
import pytest
import typer.main
import yaml

from interfaces.cli.main import app
from tests.support.paths import REPO

COMPOSE = REPO / "compose.yaml"
SCHEMA = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
OMNI_SERVICES = ("migrate", "worker", "scheduler", "dashboard")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _errors(document: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def test_compose_file_matches_the_specification(compose) -> None:
    assert _errors(compose) == []


@pytest.mark.parametrize(
    "mutate, where",
    [
        (lambda c: c["services"]["worker"].update(replicas_please=4), "services/worker"),
        (
            lambda c: c["services"]["postgres"]["healthcheck"].update(interval=5),
            "services/postgres/healthcheck/interval",
        ),
        (
            lambda c: c["services"]["migrate"].update(
                depends_on={"postgres": {"condition": "whenever"}}
            ),
            "services/migrate/depends_on",
        ),
    ],
)
def test_the_schema_catches_mistakes(compose, mutate, where) -> None:
    broken = copy.deepcopy(compose)
    mutate(broken)
    errors = _errors(broken)
    assert errors and any(e.startswith(where) for e in errors), errors


def test_services_and_their_contract(compose) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "redis", *OMNI_SERVICES}
    assert services["postgres"]["image"].startswith("pgvector/pgvector:")
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    assert "--appendonly" in services["redis"]["command"]
    for name in ("postgres", "redis", "worker", "scheduler", "dashboard"):
        assert "healthcheck" in services[name], name
    assert services["migrate"]["restart"] == "no"
    for name in ("worker", "scheduler", "dashboard"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        assert deps["postgres"]["condition"] == "service_healthy", name
    for name in OMNI_SERVICES:
        env = services[name]["environment"]
        assert (
            env["DATABASE_URL"].startswith("postgresql://")
            and "@postgres:5432/" in env["DATABASE_URL"]
        )
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert "OPENAI_API_KEY" in env and "OPENAI_BASE_URL" in env
    worker = services["worker"]
    assert "container_name" not in worker and "ports" not in worker  # --scale worker=N
    assert worker["environment"]["OMNI_WORKER_METRICS"] == "1"
    assert ":?" in services["dashboard"]["environment"]["OMNI_DASHBOARD_TOKEN"]  # required


def _interpolate(value: str) -> str:
    """${VAR:-default} -> default (what compose does with the variable unset)."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


@pytest.mark.parametrize("service", OMNI_SERVICES)
def test_service_commands_are_real_omni_commands(compose, service) -> None:

    argv = [_interpolate(a) for a in compose["services"][service]["command"]]
    assert argv[0] == "omni"
    group = typer.main.get_command(app)
    words, ctx_group = argv[1:], group.make_context("omni", list(argv[1:]), resilient_parsing=True)
    command = group
    while words and hasattr(command, "commands"):
        if words[0] not in command.commands:
            pytest.skip(f"`omni {' '.join(argv[1:])}`: {words[0]!r} is not registered yet")
        command, words = command.commands[words[0]], words[1:]
    command.make_context(argv[-1], list(words), parent=ctx_group)  # raises on a bad option


def test_dockerfile_copies_every_package(compose) -> None:

    dockerfile = (REPO / "Dockerfile").read_text()
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    for pattern in packages:
        name = pattern.rstrip("*")
        assert f"COPY {name} ./{name}" in dockerfile, name
    assert "chromium" in dockerfile and "OMNI_CHROMIUM_PATH=/usr/bin/chromium" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)


def test_docker_compose_config(tmp_path) -> None:
    docker = shutil.which("docker")
    if not docker or subprocess.run([docker, "compose", "version"], capture_output=True).returncode:
        pytest.skip("the docker CLI's compose plugin is not installed")
    env = {**os.environ, "OMNI_DASHBOARD_TOKEN": "x"}
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr

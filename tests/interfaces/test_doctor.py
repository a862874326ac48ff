"""`omni doctor`: the pure judgements (table-driven) and the real checks against the test services,
the local OpenAI-compatible server, a stopped Redis, a missing key and a wrong DATABASE_URL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from uuid import UUID

import numpy as np
import pytest

from core.config import Settings
from core.crypto import Keyring, generate_key, key_id
from db import migrate, tenants, vector_indexes
from db.vector_indexes import Health
from interfaces import doctor
from interfaces.services import EmbeddedRedis
from tests.support import secrets
from tests.support.local import free_port
from tests.support.openai_server import OpenAIServer
from tests.support.paths import TEST_DATA_DIR
from workers.embed_job import copy_rows

ALL_CHECKS = doctor.NAMES


def _lines(output: str) -> dict[str, str]:
    """The report's lines by check name."""
    lines = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("ok", "FAIL", "skip"):
            lines[parts[1]] = line
    return lines


# --------------------------------------------------------------------------- pure


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.8.1", (0, 8, 1)),
        ("0.8", (0, 8)),
        ("16.4 (Debian 16.4-1.pgdg120+1)", (16, 4)),
        ("18beta1", (18,)),
        ("", None),
        (None, None),
        ("dev", None),
    ],
)
def test_parse_version(text, expected) -> None:
    assert doctor.parse_version(text) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://postgres@127.0.0.1:5432/omni", "postgresql://postgres@127.0.0.1:5432/omni"),
        (
            "postgresql://app:s3cret@db.example:6543/omni?sslmode=require",
            "postgresql://app:***@db.example:6543/omni?sslmode=require",
        ),
        ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
    ],
)
def test_redact(url, expected) -> None:
    assert doctor.redact(url) == expected


@pytest.mark.parametrize(
    ("installed", "available", "status", "words"),
    [
        ("0.8.6", "0.8.6", "ok", "vector 0.8.6"),
        ("0.8.0", "0.8.0", "ok", "vector 0.8.0"),
        ("0.7.4", "0.8.1", "fail", "0.7.4 is installed; 0.8 or newer"),
        (None, "0.8.1", "ok", "available, not created yet"),
        (None, "0.6.0", "fail", "0.6.0 is available; 0.8 or newer"),
        (None, None, "fail", "not available on the server"),
    ],
)
def test_judge_pgvector(installed, available, status, words) -> None:
    result = doctor.judge_extension("pgvector", "vector", installed, available, (0, 8))
    assert (result.name, result.status) == ("pgvector", status)
    assert words in result.detail
    assert bool(result.fix) == (status == "fail")


def test_judge_pg_trgm_needs_no_minimum() -> None:
    assert doctor.judge_extension("pg_trgm", "pg_trgm", "1.0", "1.6").status == "ok"
    assert "postgresql-contrib" in doctor.judge_extension("pg_trgm", "pg_trgm", None, None).fix


@pytest.mark.parametrize(("num", "status"), [(180006, "ok"), (150000, "ok"), (140011, "fail")])
def test_judge_postgres(num, status) -> None:
    assert doctor.judge_postgres(num, "x", "somewhere").status == status


KNOWN = {
    "0001": ("0001_a.sql", "c1"),
    "0002": ("0002_b.sql", "c2"),
    "0003": ("0003_base.sql", "c3"),
}


@pytest.mark.parametrize(
    ("applied", "status", "words", "fix"),
    [
        ({"0003": "c3"}, "ok", "up to date (1 applied)", ""),  # the baseline stands for 0001, 0002
        ({"0001": "c1", "0002": "c2", "0003": "c3"}, "ok", "up to date (3 applied)", ""),
        ({"0001": "c1"}, "fail", "2 pending: 0002_b.sql, 0003_base.sql", "omni db migrate"),
        ({}, "fail", "3 pending: 0001_a.sql, 0002_b.sql, 0003_base.sql", "omni db migrate"),
        (
            {"0001": "edited", "0002": "c2", "0003": "c3"},
            "fail",
            "edited afterwards: 0001_a.sql",
            "new migration",
        ),
        (
            {"0001": "c1", "0002": "c2", "0003": "c3", "0099": "c9"},
            "fail",
            "does not know: 0099",
            "upgrade",
        ),
    ],
)
def test_judge_migrations(applied, status, words, fix) -> None:
    replaced = frozenset({"0001", "0002"}) if "0003" in applied else frozenset()
    result = doctor.judge_migrations(KNOWN, applied, replaced)
    assert result.status == status
    assert words in result.detail
    assert fix in result.fix


@pytest.mark.parametrize(
    ("stored", "status", "words"),
    [
        ({}, "ok", "decrypts all 0 stored"),
        ({"aaaa1111": 3, "bbbb2222": 1}, "ok", "decrypts all 4 stored"),
        (None, "ok", "not checked"),
        ({"aaaa1111": 2, "cccc3333": 5}, "fail", "5 under cccc3333"),
        ({"plaintext": 1}, "fail", "1 under plaintext"),
    ],
)
def test_judge_encryption(stored, status, words) -> None:
    result = doctor.judge_encryption(["aaaa1111", "bbbb2222"], stored)
    assert result.status == status
    assert words in result.detail


_A, _B = UUID(int=1), UUID(int=2)


@pytest.mark.parametrize(
    ("health", "status", "words"),
    [
        (Health(indexed=2), "ok", ["2 domain(s) with their own HNSW index"]),
        (
            Health(missing={_A: 700, _B: 27000}),
            "fail",
            [
                "missing for 2 domain(s) with >= 500 chunks: b.test (27,000 chunks), a.test (700 "
                "chunks)",
                "searched exactly",
            ],
        ),
        (Health(invalid=[_A]), "fail", ["invalid (a failed or interrupted build): a.test"]),
        (
            Health(unneeded=["idx_page_embeddings_vector_d_00"]),
            "fail",
            ["1 stale, no longer needed: idx_page_embeddings_vector_d_00"],
        ),
    ],
)
def test_judge_vector_indexes(health, status, words) -> None:
    result = doctor.judge_vector_indexes(health, {_A: "a.test", _B: "b.test"}, 500)
    assert result.status == status
    for w in words:
        assert w in result.detail
    assert ("omni db vector-indexes" in result.fix) is (status == "fail")


def test_report_and_exit_code() -> None:
    results = [
        doctor.ok("redis", "Redis 7"),
        doctor.skip("openai", "not configured"),
        doctor.fail("postgres", "down", "start it"),
    ]
    report = doctor.format_report(results)
    assert report.splitlines() == [
        "ok    redis            Redis 7",
        "skip  openai           not configured",
        "FAIL  postgres         down -> fix: start it",
        "1 ok, 1 failed, 1 skipped",
    ]
    assert doctor.exit_code(results) == 1
    assert doctor.exit_code(results[:2]) == 0
    assert json.loads(doctor.to_json(results))["ok"] is False


def test_unknown_check_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown check"):
        doctor.run_checks(Settings(), ["nope"])


# --------------------------------------------------------------------------- real services


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as server:
        yield server


def test_everything_ok_through_the_cli(omni_cli, services_env, openai_server) -> None:
    env = {
        "OMNI_ENCRYPTION_KEY": generate_key(),
        "OPENAI_BASE_URL": openai_server.base_url,
        "OPENAI_API_KEY": "sk-doctor-test-secret",
        "OMNI_EMBEDDING_BACKEND": "local",
    }
    result = omni_cli("doctor", "--json", env=env, timeout=300)

    assert result.returncode == 0, result.stdout + result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert list(checks) == ALL_CHECKS
    not_ok = {name: c for name, c in checks.items() if c["status"] != "ok"}
    # DATABASE_URL is set (the test database): the self-test must not run against that server.
    assert list(not_ok) == ["vector-selftest"]
    assert not_ok["vector-selftest"]["status"] == "skip"
    assert "DATABASE_URL" in not_ok["vector-selftest"]["detail"]
    assert checks["pgvector"]["detail"].startswith("vector 0.8")
    assert "up to date" in checks["migrations"]["detail"]
    assert "all-MiniLM-L6-v2" in checks["embedding-model"]["detail"]
    assert "sk-doctor-test-secret" not in result.stdout + result.stderr
    assert [r.path for r in openai_server.requests] == ["/v1/models"]


def test_the_vector_selftest_runs_on_the_embedded_server(services_env) -> None:
    settings = Settings(OMNI_DATA_DIR=TEST_DATA_DIR, DATABASE_URL=None)
    results = doctor.run_checks(settings, ["postgres", "vector-selftest"])
    assert [(r.name, r.status) for r in results] == [("postgres", "ok"), ("vector-selftest", "ok")]
    assert "HNSW" in results[1].detail


def test_openai_endpoint_embeds_when_it_is_the_backend(services_env, openai_server) -> None:
    settings = Settings(OPENAI_BASE_URL=openai_server.base_url, OPENAI_API_KEY="k")
    [result] = doctor.run_checks(settings, ["openai"])
    assert result.status == "ok", result
    assert "text-embedding-3-small embeds (1536 dims)" in result.detail
    assert len(openai_server.embedding_requests()) == 1


def test_openai_endpoint_down(services_env) -> None:
    settings = Settings(OPENAI_BASE_URL=f"http://127.0.0.1:{free_port()}/v1")
    [result] = doctor.run_checks(settings, ["openai"])
    assert result.status == "fail"
    assert "OPENAI_BASE_URL" in result.fix


def test_stopped_redis(omni_cli, tmp_path) -> None:

    redis = EmbeddedRedis(tmp_path)
    url = redis.start()
    redis.stop()
    result = omni_cli("doctor", "--check", "redis", "--check", "tiktoken", env={"REDIS_URL": url})

    assert result.returncode == 1, result.stdout + result.stderr
    lines = _lines(result.stdout)
    assert lines["redis"].startswith("FAIL  redis")
    shown = re.sub(r"//:[^@]+@", "//:***@", url)  # the password is never printed
    assert f"cannot reach {shown}" in lines["redis"]
    assert "fix: check REDIS_URL" in lines["redis"]
    assert lines["tiktoken"].startswith("ok")


def test_missing_key(db, omni_cli) -> None:

    tenants.add_domain(db, "shop.example", frequency="daily")
    secrets.set_credential(
        db, "shop.example", "api", "v", keyring=Keyring.from_string(generate_key())
    )
    result = omni_cli("doctor", "--check", "encryption-key")
    assert result.returncode == 1, result.stdout + result.stderr
    line = _lines(result.stdout)["encryption-key"]
    status, name, rest = line.split(None, 2)
    assert (status, name) == ("FAIL", "encryption-key")
    assert rest.startswith("OMNI_ENCRYPTION_KEY is not set; 1 stored value(s) need it")


def test_no_key_on_a_fresh_install_is_not_a_failure(db, omni_cli) -> None:
    result = omni_cli("doctor", "--check", "encryption-key")
    assert result.returncode == 0, result.stdout + result.stderr
    line = _lines(result.stdout)["encryption-key"]
    status, name, rest = line.split(None, 2)
    assert (status, name) == ("skip", "encryption-key")
    assert rest.startswith("OMNI_ENCRYPTION_KEY is not set and nothing is stored encrypted yet")
    assert "omni secrets generate-key" in line


def test_wrong_database_url(omni_cli) -> None:
    url = f"postgresql://app:pw-not-shown@127.0.0.1:{free_port()}/omni"
    result = omni_cli(
        "doctor",
        "--check",
        "postgres",
        "--check",
        "migrations",
        "--json",
        env={"DATABASE_URL": url},
    )

    assert result.returncode == 1, result.stdout + result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["postgres"]["status"] == "fail"
    assert checks["postgres"]["detail"].startswith(
        "cannot connect to "
        f"postgresql://app:***@127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}/omni"
    )
    assert "check DATABASE_URL" in checks["postgres"]["fix"]
    assert checks["migrations"] == {
        "name": "migrations",
        "status": "skip",
        "detail": "Postgres is unreachable",
        "fix": "",
    }
    assert "pw-not-shown" not in result.stdout + result.stderr


def test_unmigrated_database(scratch_database) -> None:
    results = doctor.run_checks(Settings(DATABASE_URL=scratch_database), list(doctor.PG_CHECKS))
    by_name = {r.name: r for r in results}
    assert by_name["postgres"].status == "ok"
    assert "not created yet" in by_name["pgvector"].detail
    assert by_name["migrations"].status == "fail"
    steps = migrate.plan(
        set(), migrate.discover()
    )  # a fresh database: the baseline and what follows
    assert by_name["migrations"].detail.startswith(
        f"{len(steps)} pending: {steps[0].migration.path.name}"
    )
    assert steps[0].migration.replaces


def test_vector_indexes_of_bulk_loaded_chunks(db) -> None:
    """Chunks copied straight into page_embeddings: doctor names the domain without its own
    index until the indexes are synced, then reports it indexed."""

    domain = db.execute(
        "INSERT INTO domains (domain) VALUES ('bulk.test') RETURNING id"
    ).fetchone()["id"]
    page = db.execute(
        "INSERT INTO scraped_pages (domain_id, url) VALUES (%s, 'https://bulk.test/') RETURNING id",
        (domain,),
    ).fetchone()["id"]
    vectors = np.random.default_rng(3).standard_normal((30, 1536)).astype(np.float32)
    with db.transaction():
        copy_rows(db, ((page, "c", v, {"model": "m1"}) for v in vectors))
    settings = Settings(OMNI_SEARCH_DOMAIN_INDEX_ROWS=20)
    [result] = doctor.run_checks(settings, ["vector-indexes"])
    assert (result.status, result.detail.split(":")[0]) == (
        "fail",
        "missing for 1 domain(s) with >= 20 chunks",
    )
    assert "bulk.test (30 chunks)" in result.detail
    vector_indexes.sync(db, 20)
    [result] = doctor.run_checks(settings, ["vector-indexes"])
    assert result.status == "ok" and result.detail.startswith("1 domain(s)")


def test_stored_values_under_a_key_that_is_gone(db) -> None:

    old, new = generate_key(), generate_key()
    tenants.add_domain(db, "shop.example", frequency="daily")
    secrets.set_credential(db, "shop.example", "api", "v", keyring=Keyring.from_string(old))

    [result] = doctor.run_checks(Settings(OMNI_ENCRYPTION_KEY=new), ["encryption-key"])
    assert result.status == "fail"
    assert f"1 under {key_id(Keyring.from_string(old).keys[0])}" in result.detail

    [result] = doctor.run_checks(Settings(OMNI_ENCRYPTION_KEY=f"{new},{old}"), ["encryption-key"])
    assert result.status == "ok"
    assert "decrypts all 1 stored value(s)" in result.detail

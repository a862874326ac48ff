"""Migrations and the `omni db|customer|domain` commands through the real entry point."""

from __future__ import annotations

import psycopg
import pytest

from db.migrate import discover, migrate, pending


def test_second_migrate_applies_nothing(db) -> None:
    assert migrate(db) == []
    assert pending(db) == []
    versions = {m.version for m in discover()}
    assert {"0003", "0004", "0005", "0006"} <= versions


def test_cli_migrate_twice_on_empty_database(omni_cli, scratch_database) -> None:
    env = {"DATABASE_URL": scratch_database}
    first = omni_cli("db", "migrate", env=env)
    assert first.returncode == 0, first.stderr
    applied = [line for line in first.stdout.splitlines() if line.startswith("applied ")]
    assert len(applied) == len(discover())
    assert "applied 0005_row_level_security.sql" in first.stdout
    second = omni_cli("db", "migrate", env=env)
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stdout and "applied" not in second.stdout
    with psycopg.connect(scratch_database) as conn:
        n = conn.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' "
                         "AND indexname LIKE 'idx\\_%'").fetchone()[0]
    assert n >= 33


def test_cli_status_and_url(omni_cli, services_env) -> None:
    status = omni_cli("db", "status")
    assert status.returncode == 0, status.stderr
    assert f"{len(discover())} applied, 0 pending" in status.stdout
    assert "0006_search_functions.sql" in status.stdout and "scraped_pages" in status.stdout
    url = omni_cli("db", "url")
    assert url.returncode == 0 and url.stdout.strip() == services_env["DATABASE_URL"]


def test_cli_customer_and_domain_add(db, omni_cli) -> None:
    customer = omni_cli("customer", "add", "Owner@Example.test", "--company", "Example")
    assert customer.returncode == 0, customer.stderr
    assert "customer owner@example.test" in customer.stdout
    added = omni_cli("domain", "add", "http://127.0.0.1:8931/x", "--max-pages", "5", "--render-js",
                     "--customer", "owner@example.test")
    assert added.returncode == 0, added.stderr
    row = db.execute("SELECT d.*, c.customer_id FROM domains d "
                     "JOIN customer_configs c ON c.domain = d.domain").fetchone()
    assert row["domain"] == "127.0.0.1:8931"
    assert (row["max_pages"], row["render_js"], row["scrape_frequency"]) == (5, True, "weekly")
    owner = db.execute("SELECT id, auth_user_id FROM customers").fetchone()
    assert row["user_id"] == owner["auth_user_id"] and row["customer_id"] == owner["id"]
    # idempotent: adding again updates instead of failing
    again = omni_cli("domain", "add", "127.0.0.1:8931", "--max-pages", "7")
    assert again.returncode == 0, again.stderr
    assert db.execute("SELECT count(*) AS n, max(max_pages) AS m FROM domains").fetchone() == {"n": 1, "m": 7}


@pytest.mark.parametrize("args,message", [
    (("domain", "add", "http://"), "not a domain or URL"),
    (("domain", "add", "example.test", "--frequency", "fortnightly"), "frequency must be one of"),
    (("domain", "add", "example.test", "--customer", "nobody@example.test"), "no customer"),
    (("customer", "add", "not-an-email"), "not an email address"),
    (("domain", "add", "example.test", "--exclude", "/" + "x" * 200), "a URL pattern must have"),
])
def test_cli_errors_are_one_line(db, omni_cli, args, message) -> None:
    result = omni_cli(*args)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("how", [("--debug",), ()])
def test_cli_debug_keeps_the_traceback(db, omni_cli, how) -> None:
    env = {} if how else {"OMNI_LOG_LEVEL": "DEBUG"}
    result = omni_cli(*how, "customer", "add", "not-an-email", env=env)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "db/tenants.py" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: not an email address")

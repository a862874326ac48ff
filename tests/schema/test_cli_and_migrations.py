"""Migrations and the `omni db|customer|domain` commands through the real entry point, and
normalize_domain."""

from __future__ import annotations

import psycopg
import pytest

from db.migrate import discover, migrate, pending
from omni.domains import InvalidDomain, normalize_domain


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


@pytest.mark.parametrize("value,expected", [
    ("example.com", "example.com"),
    ("  example.com  ", "example.com"),
    ("Example.COM", "example.com"),
    ("https://Shop.Example.com:443/x?y=1", "shop.example.com"),
    ("http://example.com:80/", "example.com"),
    ("https://example.com:80", "example.com:80"),
    ("http://example.com:443", "example.com:443"),
    ("http://example.com:8080/a/b", "example.com:8080"),
    ("WWW.Example.com", "www.example.com"),
    ("https://www.example.com/", "www.example.com"),
    ("example.com.", "example.com"),
    ("127.0.0.1:8931", "127.0.0.1:8931"),
    ("http://127.0.0.1:8931/x", "127.0.0.1:8931"),
    ("http://[::1]:8080/", "[::1]:8080"),
    ("https://[2001:DB8::1]/", "[2001:db8::1]"),
    ("https://[2001:db8::1]:443/", "[2001:db8::1]"),
    # one canonical form (docs/security.md#domain-names): NFKC, UTS-46 to A-labels, lower-case
    ("\uff42.test", "b.test"),                                   # fullwidth b
    ("\uff22\uff0e\uff54\uff45\uff53\uff54", "b.test"),           # fullwidth B.test with fullwidth dot
    ("b\u3002test", "b.test"),                                   # ideographic full stop
    ("b\u00fccher.example", "xn--bcher-kva.example"),
    ("B\u00dcCHER.example", "xn--bcher-kva.example"),
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("https://XN--BCHER-KVA.example:8443/", "xn--bcher-kva.example:8443"),
    ("\u0431\u0443\u043a\u0432\u044b.\u0440\u0444", "xn--90acx9a4b.xn--p1ai"),
    ("stra\u00dfe.de", "xn--strae-oqa.de"),                      # IDNA 2008: sharp s kept
    ("a" * 63 + ".test", "a" * 63 + ".test"),
])
def test_normalize_domain(value: str, expected: str) -> None:
    assert normalize_domain(value) == expected


@pytest.mark.parametrize("value", ["", "   ", "http://", "://x", "http://exa mple.com",
                                   "not a domain", "http://example.com:99999",
                                   "http://example.com:abc", "http://:80", "http://[::1",
                                   "[::1", "http://[zz]/",
                                   "b.test\x00", "b\x00.test", "b.te\nst", "\x1bb.test", "b.test\x7f",
                                   "b\u200b.test",                        # zero-width space (Cf)
                                   "a" * 64 + ".test",                     # label over 63
                                   ".".join(["a" * 60] * 5),               # host over 253
                                   "a" * 100_000,                          # clear error, no index error
                                   "ftp://b.test", "javascript:alert(1)", "b_c.test", "xn--zz.test"])
def test_normalize_domain_rejects_bad_input(value: str) -> None:
    with pytest.raises(InvalidDomain):
        normalize_domain(value)

"""Migrations and the `omni db|customer|domain` commands through the real entry point."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from db.connection import connect
from db.migrate import Migration, MigrationError, discover, migrate, pending, plan
from tests.support.environment import database_on, fresh_database
from tests.support.migrations import BASELINE, assert_old_chain_upgrades_to_fresh_schema


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
    # a fresh database runs the baseline in place of the chain it replaces, then the rest
    assert applied == [
        f"applied {m.path.name}"
        for m in discover()
        if m.version not in BASELINE.replaces and not m.version < BASELINE.version
    ]
    second = omni_cli("db", "migrate", env=env)
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stdout and "applied" not in second.stdout
    with psycopg.connect(scratch_database) as conn:
        n = conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' "
            "AND indexname LIKE 'idx\\_%'"
        ).fetchone()[0]
    assert n >= 33


def test_cli_status_and_url(omni_cli, services_env) -> None:
    status = omni_cli("db", "status")
    assert status.returncode == 0, status.stderr
    later = [m for m in discover() if m.version > BASELINE.version]
    assert f"{1 + len(later)} applied, 0 pending" in status.stdout
    assert "0006_search_functions.sql" in status.stdout and "in the baseline" in status.stdout
    assert "scraped_pages" in status.stdout
    url = omni_cli("db", "url")
    assert url.returncode == 0 and url.stdout.strip() == services_env["DATABASE_URL"]


def test_cli_customer_and_domain_add(db, omni_cli) -> None:
    customer = omni_cli("customer", "add", "Owner@Example.test", "--company", "Example")
    assert customer.returncode == 0, customer.stderr
    assert "customer owner@example.test" in customer.stdout
    added = omni_cli(
        "domain",
        "add",
        "http://127.0.0.1:8931/x",
        "--max-pages",
        "5",
        "--render-js",
        "--customer",
        "owner@example.test",
    )
    assert added.returncode == 0, added.stderr
    row = db.execute(
        "SELECT d.*, c.customer_id FROM domains d JOIN customer_configs c ON c.domain = d.domain"
    ).fetchone()
    assert row["domain"] == "127.0.0.1:8931"
    assert (row["max_pages"], row["render_js"], row["scrape_frequency"]) == (5, True, "weekly")
    owner = db.execute("SELECT id, auth_user_id FROM customers").fetchone()
    assert row["user_id"] == owner["auth_user_id"] and row["customer_id"] == owner["id"]
    # idempotent: adding again updates instead of failing
    again = omni_cli("domain", "add", "127.0.0.1:8931", "--max-pages", "7")
    assert again.returncode == 0, again.stderr
    assert db.execute("SELECT count(*) AS n, max(max_pages) AS m FROM domains").fetchone() == {
        "n": 1,
        "m": 7,
    }


@pytest.mark.parametrize(
    "args,message",
    [
        (("domain", "add", "http://"), "not a domain or URL"),
        (
            ("domain", "add", "example.test", "--frequency", "fortnightly"),
            "frequency must be one of",
        ),
        (("domain", "add", "example.test", "--customer", "nobody@example.test"), "no customer"),
        (("customer", "add", "not-an-email"), "not an email address"),
        (
            ("domain", "add", "example.test", "--exclude", "/" + "x" * 200),
            "a URL pattern must have",
        ),
    ],
)
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


# ---------------------------------------------------------------- baselines (squashed migrations)
def _m(version: str, *replaces: str) -> Migration:
    return Migration(version, "x", Path(f"{version}_x.sql"), tuple(replaces))


CHAIN = [_m("0001"), _m("0002"), _m("0003"), _m("0004", "0001", "0002", "0003"), _m("0005")]


@pytest.mark.parametrize(
    ("done", "steps"),
    [
        (set(), [("0004", True), ("0005", True)]),  # fresh: the baseline instead
        ({"0001"}, [("0002", True), ("0003", True), ("0004", False), ("0005", True)]),  # part-way
        ({"0001", "0002", "0003"}, [("0004", False), ("0005", True)]),  # the whole chain: recorded
        ({"0004"}, [("0005", True)]),
        ({"0001", "0002", "0003", "0004"}, [("0005", True)]),
        ({"0001", "0002", "0003", "0004", "0005"}, []),
    ],
)
def test_plan_puts_the_baseline_in_place_of_its_chain(done, steps) -> None:
    assert [(s.migration.version, s.run) for s in plan(done, CHAIN)] == steps


def _write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"0001_a.sql": "", "0002_b.sql": "-- replaces: 0001 0009\n"},
            "replaces unknown versions: 0009",
        ),
        (
            {"0001_a.sql": "", "0002_b.sql": "", "0003_c.sql": "-- replaces: 0001 0003\n"},
            "consecutive migrations older than itself",
        ),
        (
            {"0001_a.sql": "", "0002_b.sql": "-- replaces: 0003\n", "0003_c.sql": ""},
            "consecutive migrations older than itself",
        ),
        (
            {
                "0001_a.sql": "",
                "0002_b.sql": "-- replaces: 0001\n",
                "0003_c.sql": "-- replaces: 0001 0002\n",
            },
            "another baseline covers",
        ),
    ],
)
def test_discover_rejects_a_baseline_that_does_not_fit(tmp_path, files, message) -> None:
    with pytest.raises(MigrationError, match=message):
        discover(_write(tmp_path / "m", files))


def test_runner_with_a_baseline_on_fresh_part_way_and_upgraded_databases(
    services_env, tmp_path
) -> None:
    admin = database_on(services_env["DATABASE_URL"], "postgres")
    chain = {"0001_a.sql": "CREATE TABLE a (id int);", "0002_b.sql": "CREATE TABLE b (id int);"}
    baseline = {
        "0003_base.sql": "-- replaces: 0001 0002\nCREATE TABLE a (id int); CREATE TABLE b (id "
        "int);",
        "0004_c.sql": "CREATE TABLE c (id int);",
    }
    old, new = _write(tmp_path / "old", chain), _write(tmp_path / "new", {**chain, **baseline})

    def versions(conn) -> list[str]:
        return [
            r["version"] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")
        ]

    with fresh_database(admin, "omni_base") as url, connect(autocommit=True, dsn=url) as conn:
        assert [m.version for m in migrate(conn, new)] == ["0003", "0004"]
        assert versions(conn) == ["0003", "0004"]
    with fresh_database(admin, "omni_base") as url, connect(autocommit=True, dsn=url) as conn:
        _write(tmp_path / "half", {"0001_a.sql": chain["0001_a.sql"]})
        migrate(conn, tmp_path / "half")
        assert [m.version for m in migrate(conn, new)] == ["0002", "0004"]  # 0003 only recorded
        assert versions(conn) == ["0001", "0002", "0003", "0004"]
        assert migrate(conn, new) == []
        (new / "0001_a.sql").write_text("CREATE TABLE a (id bigint);")  # an applied file edited
        with pytest.raises(MigrationError, match="0001_a.sql changed after it was applied"):
            migrate(conn, new)
    (new / "0001_a.sql").write_text(chain["0001_a.sql"])
    with fresh_database(admin, "omni_base") as url, connect(autocommit=True, dsn=url) as conn:
        migrate(conn, old)
        assert [m.version for m in migrate(conn, new)] == ["0004"]
        assert versions(conn) == ["0001", "0002", "0003", "0004"]


def _sections(text: str) -> dict[str, tuple[str, bool]]:
    """The baseline's `-- ==== <file>` sections: file name -> (text, rewritten)."""
    parts = text.split("\n-- ==== ")[1:]
    out = {}
    for part in parts:
        title, _, body = part.partition("\n")
        name, _, note = title.partition(" ")
        out[name] = (body, note == "(rewritten)")
    return out


def test_baseline_is_the_chain_text_with_four_files_rewritten() -> None:
    sections = _sections(BASELINE.sql)
    replaced = [m for m in discover() if m.version in BASELINE.replaces]
    assert list(sections) == [m.path.name for m in replaced]
    assert sorted(n[:4] for n, (_, rewritten) in sections.items() if rewritten) == [
        "0001",
        "0004",
        "0005",
        "0060",
    ]
    for m in replaced:
        body, rewritten = sections[m.path.name]
        if not rewritten:
            assert body == m.sql, f"{m.path.name} differs from its copy in the baseline"


def test_old_chain_upgraded_has_the_schema_of_a_fresh_baseline(services_env, tmp_path) -> None:
    admin = database_on(services_env["DATABASE_URL"], "postgres")
    assert_old_chain_upgrades_to_fresh_schema(admin, tmp_path)

"""Checks of the migration chain shared by the embedded server's tests and the other servers'."""

from __future__ import annotations

from pathlib import Path

from db.connection import connect
from db.migrate import discover, migrate
from tests.support.environment import fresh_database
from tests.support.servers import old_chain
from tests.support.tenants import schema_fingerprint

BASELINE = next(m for m in discover() if m.replaces)


def assert_old_chain_upgrades_to_fresh_schema(admin_url: str, tmp_path: Path) -> None:
    """A database migrated by the old chain (0001..0060, as installs before the baseline were), then
    upgraded, ends in the same schema as a fresh one; only the baseline is recorded as new."""
    chain = tmp_path / "old"
    chain.mkdir()
    old_chain(chain)
    with (
        fresh_database(admin_url, "omni_old") as old_url,
        fresh_database(admin_url, "omni_new") as new_url,
    ):
        with connect(autocommit=True, dsn=old_url) as old:
            migrate(old, chain)
            assert (
                old.execute(
                    "SELECT count(*) AS n FROM pg_event_trigger "
                    "WHERE evtname = 'omni_public_table_ddl'"
                ).fetchone()["n"]
                == 1
            )
            upgraded = [m.version for m in migrate(old)]
            assert upgraded[0] == "0070" and BASELINE.version not in upgraded
            assert old.execute(
                "SELECT 1 FROM schema_migrations WHERE version = %s", (BASELINE.version,)
            ).fetchone()
            before = schema_fingerprint(old)
        with connect(autocommit=True, dsn=new_url) as new:
            migrate(new)
            after = schema_fingerprint(new)
            assert new.execute("SELECT count(*) AS n FROM pg_default_acl").fetchone()["n"] == 0
    assert (sorted(before - after), sorted(after - before)) == ([], [])
    assert not any(line.startswith("event trigger") for line in after)

"""Plain ordered SQL migrations from db/migrations, each applied once in its own transaction.

Applied versions are recorded in `schema_migrations` with a checksum. An advisory lock makes
concurrent `omni db migrate` runs (several machines starting together) safe.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import psycopg

from omni.errors import OmniError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x0_6D_6E_69  # "omni"


class MigrationError(OmniError, RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        version, _, name = path.stem.partition("_")
        if not version.isdigit():
            raise MigrationError(f"migration file name must start with a number: {path.name}")
        migrations.append(Migration(version, name, path))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migrations share a version number")
    return migrations


_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS public.schema_migrations (
    version     TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    checksum    TEXT NOT NULL,
    applied_at  TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
ALTER TABLE public.schema_migrations ENABLE ROW LEVEL SECURITY;
"""


def applied(conn: psycopg.Connection) -> dict[str, dict]:
    exists = conn.execute("SELECT to_regclass('public.schema_migrations') AS t").fetchone()
    if not exists or not _first(exists):
        return {}
    rows = conn.execute("SELECT version, name, checksum, applied_at FROM schema_migrations").fetchall()
    return {_get(r, "version", 0): r for r in rows}


def _first(row) -> object:
    return row["t"] if isinstance(row, dict) else row[0]


def _get(row, key: str, index: int) -> object:
    return row[key] if isinstance(row, dict) else row[index]


def pending(conn: psycopg.Connection) -> list[Migration]:
    done = applied(conn)
    return [m for m in discover() if m.version not in done]


def migrate(conn: psycopg.Connection) -> list[Migration]:
    """Apply pending migrations; returns those applied. `conn` must be in autocommit mode."""
    if not conn.autocommit:
        raise MigrationError("migrate() needs an autocommit connection")
    # A migration may rewrite a table or build an index: no statement or lock limit for it.
    conn.execute("SET statement_timeout = 0")
    conn.execute("SET lock_timeout = 0")
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    try:
        conn.execute(_BOOKKEEPING)
        done = applied(conn)
        for migration in discover():
            recorded = done.get(migration.version)
            if recorded is not None:
                if _get(recorded, "checksum", 2) != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.path.name} changed after it was applied; "
                        "add a new migration instead of editing an applied one"
                    )
        newly = []
        for migration in discover():
            if migration.version in done:
                continue
            try:
                with conn.transaction():
                    conn.execute(migration.sql)
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                        (migration.version, migration.name, migration.checksum),
                    )
            except psycopg.Error as exc:
                raise MigrationError(f"{migration.path.name}: {exc}".strip()) from exc
            newly.append(migration)
        return newly
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))

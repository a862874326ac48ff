"""Plain ordered SQL migrations from db/migrations, each applied once in its own transaction.

Applied versions are recorded in `schema_migrations` with a checksum. An advisory lock makes
concurrent `omni db migrate` runs (several machines starting together) safe.

A squashed migration (a baseline) names the versions it replaces in a header line,
`-- replaces: 0001 0002 ...`, as Django's `replaces` does (docs/schema.md#migrations):

* a database that has applied none of them runs the baseline instead, in their place;
* one that has applied some of them runs the rest of the chain one by one, and then the
  baseline is recorded without being run (the chain and the baseline end in the same schema);
* once the baseline is recorded, the versions it replaces are done.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from core.errors import OmniError
from db.connection import Conn

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x0_6D_6E_69  # "omni"


class MigrationError(OmniError, RuntimeError):
    pass


_REPLACES = re.compile(r"^-- replaces:(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path
    replaces: tuple[str, ...] = ()

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class Step:
    """One thing migrate() does: run a migration, or (run=False) record a baseline whose
    replaced migrations have all been applied one by one."""

    migration: Migration
    run: bool = True


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        version, _, name = path.stem.partition("_")
        if not version.isdigit():
            raise MigrationError(f"migration file name must start with a number: {path.name}")
        header = _REPLACES.search(path.read_text(encoding="utf-8"))
        replaces = tuple(sorted(header.group(1).split())) if header else ()
        migrations.append(Migration(version, name, path, replaces))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migrations share a version number")
    _check_baselines(migrations)
    return migrations


def _check_baselines(migrations: list[Migration]) -> None:
    """A baseline replaces a run of consecutive plain migrations, all older than itself, each
    replaced by no other baseline."""
    order = [m.version for m in migrations]
    claimed: set[str] = set()
    for m in migrations:
        if not m.replaces:
            continue
        unknown = [v for v in m.replaces if v not in order]
        if unknown:
            raise MigrationError(f"{m.path.name} replaces unknown versions: {', '.join(unknown)}")
        span = order[order.index(m.replaces[0]) : order.index(m.replaces[-1]) + 1]
        if tuple(span) != m.replaces or m.replaces[-1] >= m.version:
            raise MigrationError(
                f"{m.path.name} must replace consecutive migrations older than itself"
            )
        if claimed & set(m.replaces) or any(by_version(migrations, v).replaces for v in m.replaces):
            raise MigrationError(f"{m.path.name} replaces a version another baseline covers")
        claimed |= set(m.replaces)


def by_version(migrations: list[Migration], version: str) -> Migration:
    return next(m for m in migrations if m.version == version)


def plan(done: set[str], migrations: list[Migration]) -> list[Step]:
    """What migrate() does next, in order, for a database that has applied `done` (pure)."""
    replaced_by = {v: m for m in migrations for v in m.replaces}
    steps = []
    for m in migrations:
        if m.replaces:
            continue  # a baseline is placed where the chain it replaces is
        baseline = replaced_by.get(m.version)
        if baseline is None:
            if m.version not in done:
                steps.append(Step(m))
        elif baseline.version in done:
            continue
        elif not done & set(baseline.replaces):
            if m.version == baseline.replaces[0]:
                steps.append(Step(baseline))
        else:
            if m.version not in done:
                steps.append(Step(m))
            if m.version == baseline.replaces[-1]:
                steps.append(Step(baseline, run=False))
    return steps


_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS public.schema_migrations (
    version     TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    checksum    TEXT NOT NULL,
    applied_at  TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
ALTER TABLE public.schema_migrations ENABLE ROW LEVEL SECURITY;
"""


def applied(conn: Conn) -> dict[str, dict[str, Any]]:
    exists = conn.execute("SELECT to_regclass('public.schema_migrations') AS t").fetchone()
    if not exists or not _first(exists):
        return {}
    rows = conn.execute(
        "SELECT version, name, checksum, applied_at FROM schema_migrations"
    ).fetchall()
    return {str(_get(r, "version", 0)): r for r in rows}


def _first(row: Mapping[str, Any] | Sequence[Any]) -> object:
    return row["t"] if isinstance(row, Mapping) else row[0]


def _get(row: Mapping[str, Any] | Sequence[Any], key: str, index: int) -> object:
    return row[key] if isinstance(row, Mapping) else row[index]


def pending(conn: Conn) -> list[Migration]:
    """The migrations the next migrate() runs (a baseline only recorded is not among them)."""
    return [s.migration for s in plan(set(applied(conn)), discover()) if s.run]


def satisfied(done: set[str], migrations: list[Migration]) -> set[str]:
    """The versions that count as applied: those recorded, and those a recorded baseline
    replaces."""
    return set(done) | {v for m in migrations if m.version in done for v in m.replaces}


def migrate(conn: Conn, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Apply pending migrations; returns those run. `conn` must be in autocommit mode."""
    if not conn.autocommit:
        raise MigrationError("migrate() needs an autocommit connection")
    # A migration may rewrite a table or build an index: no statement or lock limit for it.
    conn.execute("SET statement_timeout = 0")
    conn.execute("SET lock_timeout = 0")
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    try:
        conn.execute(_BOOKKEEPING)
        done = applied(conn)
        migrations = discover(directory)
        for migration in migrations:
            recorded = done.get(migration.version)
            if recorded is not None and _get(recorded, "checksum", 2) != migration.checksum:
                raise MigrationError(
                    f"migration {migration.path.name} changed after it was applied; "
                    "add a new migration instead of editing an applied one"
                )
        newly = []
        for step in plan(set(done), migrations):
            migration = step.migration
            try:
                with conn.transaction():
                    if step.run:
                        conn.execute(migration.sql)
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, "
                        "%s)",
                        (migration.version, migration.name, migration.checksum),
                    )
            except psycopg.Error as exc:
                raise MigrationError(f"{migration.path.name}: {exc}".strip()) from exc
            if step.run:
                newly.append(migration)
        return newly
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))

"""Per-domain partial HNSW indexes on page_embeddings (docs/workers.md#search-at-tenant-scale).

A domain with at least `OMNI_SEARCH_DOMAIN_INDEX_ROWS` chunks gets its own index,
`idx_page_embeddings_vector_d_<domain id hex>` (`... WHERE domain_id = '<id>'`). Its search then
walks a graph of its own chunks only, however far the query is from them; in the shared index a
filtered walk for an off-topic question passes through other tenants' rows first. A domain
without its own (valid) index is searched exactly by search_embedding_ids (migration 0076), so a
missing index costs time, never recall. The predicate is a uuid read from the database, never
text from a request.

The indexes follow the data: `sync` compares the chunks per domain with the indexes that exist,
whoever wrote the chunks (the embed job, a bulk COPY, a restore, another application). The
scheduler process runs it every pass (interfaces/index_schedule.py); the embed job runs it for its
domain after each job (sooner); `omni db vector-indexes` by hand; `omni doctor` reports what it
would do (`health`).

The index is on `l2_normalize(embedding)::vector(1536)` with `vector_ip_ops`: for unit vectors
the inner product orders exactly as the cosine distance does, and only a query ordering by that
expression can use it, so search_embedding_ids' walk can use nothing but the domain's own
index. (With the same `embedding vector_cosine_ops` as the shared index, pgvector's cost estimate
often preferred the shared index, and the filtered walk of the shared graph is what loses
recall.) An index of
this name with another definition (built before migration 0076) counts as invalid: it is rebuilt.

Indexes are built with CREATE INDEX CONCURRENTLY (writers are not blocked), on an autocommit
connection, one domain at a time under an advisory lock, so two workers never build the same
one. An interrupted build leaves an invalid index; the next sync for that domain drops and
rebuilds it (under the lock, so a build still in progress is never dropped).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from core.config import get_settings
from db.connection import Conn, one

PREFIX = "idx_page_embeddings_vector_d_"
LOCK_KEY = 0x6F6D6E69  # 'omni': advisory lock class for index builds
BUILD_MEMORY = "512MB"


def index_name(domain_id: UUID) -> str:
    return PREFIX + domain_id.hex


def domain_of(name: str) -> UUID | None:
    if not name.startswith(PREFIX):
        return None
    try:
        return UUID(hex=name[len(PREFIX) :])
    except ValueError:
        return None


@dataclass
class Plan:
    create: list[UUID] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)


def plan_indexes(rows: Mapping[UUID, int], existing: Mapping[str, bool], min_rows: int) -> Plan:
    """What to build and drop (pure). `rows`: chunks per domain; `existing`: index name ->
    valid. A domain keeps its index until it shrinks below half the threshold (no flapping
    around it). An invalid index (a build in progress, or an interrupted one) of a domain that
    needs one is built again: `_build` drops it first, under the domain's lock, so a build in
    progress elsewhere is left alone."""
    plan = Plan()
    have: set[UUID] = set()
    for name, valid in sorted(existing.items()):
        domain = domain_of(name)
        if domain is None:
            continue
        if rows.get(domain, 0) < max(1, min_rows // 2):
            plan.drop.append(name)
        elif valid:
            have.add(domain)
    # Largest first: they are the slowest to search exactly while their index is missing.
    plan.create = sorted(
        (d for d, n in rows.items() if n >= min_rows and d not in have), key=lambda d: (-rows[d], d)
    )
    return plan


@dataclass
class Health:
    """What `sync` would change: domains that need an index and have none (`missing`, domain ->
    chunks), whose index is invalid, i.e. a failed or interrupted build (`invalid`), and indexes
    no longer needed, their domain gone or below half the threshold (`unneeded`)."""

    missing: dict[UUID, int] = field(default_factory=dict)
    invalid: list[UUID] = field(default_factory=list)
    unneeded: list[str] = field(default_factory=list)
    indexed: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.invalid or self.unneeded)


def judge_indexes(rows: Mapping[UUID, int], existing: Mapping[str, bool], min_rows: int) -> Health:
    """The plan of `plan_indexes`, told as problems (pure)."""
    plan = plan_indexes(rows, existing, min_rows)
    health = Health(unneeded=list(plan.drop))
    for domain in plan.create:
        if index_name(domain) in existing:
            health.invalid.append(domain)
        else:
            health.missing[domain] = rows[domain]
    health.indexed = sum(
        1
        for name, valid in existing.items()
        if valid and domain_of(name) is not None and name not in plan.drop
    )
    return health


def health(conn: Conn, min_rows: int) -> Health:
    return judge_indexes(domain_rows(conn), existing_indexes(conn), min_rows)


def existing_indexes(conn: Conn) -> dict[str, bool]:
    """Index name -> usable by search_embedding_ids (the same test as its
    has_own_vector_index(): valid, ready, on l2_normalize(embedding) with vector_ip_ops)."""
    return {
        r["name"]: r["valid"]
        for r in conn.execute(
            "SELECT c.relname AS name, i.indisvalid AND i.indisready AND i.indexprs IS NOT NULL "
            "       AND oc.opcname = 'vector_ip_ops' AS valid "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "LEFT JOIN pg_opclass oc ON oc.oid = i.indclass[0] "
            "WHERE i.indrelid = 'public.page_embeddings'::regclass AND c.relname LIKE %s",
            (PREFIX.replace("_", r"\_") + "%",),
        )
    }


def _vector_schema(conn: Conn) -> str:
    """Where pgvector lives (public on plain Postgres, extensions on Supabase)."""
    return one(
        conn.execute(
            "SELECT n.nspname AS s FROM pg_extension e JOIN pg_namespace n "
            "ON n.oid = e.extnamespace WHERE e.extname = 'vector'"
        )
    )["s"]


def domain_rows(conn: Conn, domain_ids: Iterable[UUID] | None = None) -> dict[UUID, int]:
    args: tuple[Any, ...]
    if domain_ids is None:
        query, args = (
            (
                "SELECT domain_id, count(*) AS n FROM public.page_embeddings "
                "WHERE domain_id IS NOT NULL GROUP BY domain_id"
            ),
            (),
        )
    else:
        query, args = (
            (
                "SELECT domain_id, count(*) AS n FROM public.page_embeddings "
                "WHERE domain_id = ANY(%s) GROUP BY domain_id"
            ),
            (list(domain_ids),),
        )
    return {r["domain_id"]: r["n"] for r in conn.execute(query, args)}


def _build(conn: Conn, domain_id: UUID) -> bool:
    """CREATE INDEX CONCURRENTLY for one domain; False when another session is building it."""
    key = domain_id.int & 0x7FFFFFFF
    if not one(conn.execute("SELECT pg_try_advisory_lock(%s, %s) AS ok", (LOCK_KEY, key)))["ok"]:
        return False
    try:
        name = index_name(domain_id)
        if existing_indexes(conn).get(name) is False:  # invalid, or an old definition
            conn.execute(f'DROP INDEX CONCURRENTLY IF EXISTS public."{name}"')
        conn.execute(f"SET maintenance_work_mem = '{BUILD_MEMORY}'")
        schema = _vector_schema(conn)
        conn.execute(
            f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON public.page_embeddings '
            f'USING hnsw (("{schema}".l2_normalize(embedding)::"{schema}".vector(1536)) '
            f'"{schema}".vector_ip_ops) '
            f"WITH (m = 16, ef_construction = 64) WHERE domain_id = '{UUID(str(domain_id))}'::uuid"
        )
        return True
    finally:
        conn.execute("RESET maintenance_work_mem")
        conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_KEY, key))


def sync(
    conn: Conn, min_rows: int | None = None, domain_ids: Iterable[UUID] | None = None
) -> dict[str, Any]:
    """Build missing and drop unneeded per-domain indexes (all domains, or only `domain_ids`).
    `conn` must be in autocommit mode (CONCURRENTLY cannot run in a transaction)."""
    if not conn.autocommit:
        raise ValueError("vector index sync needs an autocommit connection")
    min_rows = min_rows or get_settings().search_domain_index_rows
    ids = None if domain_ids is None else [UUID(str(d)) for d in domain_ids]
    existing = existing_indexes(conn)
    if ids is not None:
        wanted = {index_name(d) for d in ids}
        existing = {name: valid for name, valid in existing.items() if name in wanted}
    plan = plan_indexes(domain_rows(conn, ids), existing, min_rows)
    for name in plan.drop:
        conn.execute(f'DROP INDEX CONCURRENTLY IF EXISTS public."{name}"')
    built = [d for d in plan.create if _build(conn, d)]
    return {"created": [index_name(d) for d in built], "dropped": plan.drop}

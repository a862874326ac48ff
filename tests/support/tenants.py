"""Schema test helpers: one minimal row spec per table, tenant "worlds" built from them, and
acting as a tenant (SET ROLE authenticated + JWT claims) or as service_role."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from tests.support.paths import OMNI, REPO  # noqa: F401 - re-exported for the tests


def _u() -> str:
    return uuid.uuid4().hex[:10]


@dataclass
class Tenant:
    """A tenant's parent ids (filled while its world is built)."""

    name: str
    ids: dict[str, Any] = field(default_factory=dict)  # parent key -> id
    rows: dict[str, Any] = field(default_factory=dict)  # table -> id of its row

    def __getitem__(self, key: str) -> Any:
        return self.ids[key]


# One minimal row per table, in creation order (parents first). Each spec maps the tenant whose
# parents the row points at to column values. `provides` names the parent key the row's id
# becomes. Every public table except the service-only ones must be here (test_rls checks).
# Service-only tables: no tenant row in them, closed to tenants (test_rls checks that too).
SERVICE_ONLY_TABLES = frozenset({"schema_migrations", "worker_heartbeats", "embedding_checkpoints"})
ROW_SPECS: dict[str, tuple[Callable[[Tenant], dict[str, Any]], str | None]] = {
    "customers": (
        lambda t: {"auth_user_id": t["user"], "email": f"{t.name}-{_u()}@example.test"},
        "customer",
    ),
    "domains": (
        lambda t: {"user_id": t["user"], "domain": f"{t.name}-{_u()}.example.test"},
        "domain",
    ),
    "businesses": (
        lambda t: {
            "owner_user_id": t["user"],
            "customer_id": t["customer"],
            "name": f"{t.name} inc",
        },
        "business",
    ),
    "customer_configs": (lambda t: {"customer_id": t["customer"], "domain_id": t["domain"]}, None),
    "domain_claims": (
        lambda t: {"user_id": t["user"], "domain": f"{t.name}-{_u()}.claim.test"},
        None,
    ),
    "scraped_pages": (
        lambda t: {"domain_id": t["domain"], "url": f"https://x.test/{_u()}"},
        "page",
    ),
    "website_content": (
        lambda t: {"domain_id": t["domain"], "url": f"https://x.test/{_u()}"},
        "content",
    ),
    "structured_extractions": (
        lambda t: {
            "domain_id": t["domain"],
            "url": "https://x.test/p",
            "extract_type": "faq",
            "extracted_data": Jsonb({}),
        },
        None,
    ),
    "content_refresh_jobs": (lambda t: {"domain_id": t["domain"], "job_type": "crawl"}, None),
    "content_hashes": (lambda t: {"domain_id": t["domain"], "content_hash": _u()}, None),
    "page_content_references": (
        lambda t: {
            "domain_id": t["domain"],
            "source_url": f"https://x.test/{_u()}",
            "target_url": "https://x.test/t",
        },
        None,
    ),
    "domain_patterns": (lambda t: {"domain_id": t["domain"], "pattern_type": _u()}, None),
    "page_embeddings": (lambda t: {"page_id": t["page"], "chunk_text": "chunk"}, None),
    "ai_optimized_content": (
        lambda t: {
            "domain_id": t["domain"],
            "source_content_id": t["content"],
            "url": f"https://x.test/{_u()}",
            "content_type": "page",
        },
        None,
    ),
    "training_data": (
        lambda t: {
            "user_id": t["user"],
            "domain_id": t["domain"],
            "type": "qa",
            "input_text": "q",
            "output_text": "a",
        },
        None,
    ),
    "conversations": (
        lambda t: {"customer_id": t["customer"], "domain_id": t["domain"]},
        "conversation",
    ),
    "messages": (
        lambda t: {"conversation_id": t["conversation"], "role": "user", "content": "hi"},
        None,
    ),
    "chat_sessions": (
        lambda t: {"customer_id": t["customer"], "domain_id": t["domain"]},
        "session",
    ),
    "chat_messages": (
        lambda t: {"session_id": t["session"], "role": "user", "content": "hi"},
        None,
    ),
    "customer_verifications": (
        lambda t: {
            "customer_id": t["customer"],
            "domain_id": t["domain"],
            "verification_type": "email",
            "identifier": "e@x.test",
        },
        None,
    ),
    "customer_access_logs": (
        lambda t: {
            "customer_id": t["customer"],
            "domain_id": t["domain"],
            "actor": "service",
            "action": "read",
        },
        None,
    ),
    "customer_data_cache": (
        lambda t: {
            "customer_id": t["customer"],
            "domain_id": t["domain"],
            "cache_key": _u(),
            "data": Jsonb({}),
        },
        None,
    ),
    "privacy_requests": (
        lambda t: {
            "customer_id": t["customer"],
            "domain_id": t["domain"],
            "request_type": "access",
            "requester_email": "e@x.test",
        },
        None,
    ),
    "business_configs": (lambda t: {"business_id": t["business"]}, None),
    "business_usage": (
        lambda t: {"business_id": t["business"], "domain_id": t["domain"], "usage_type": _u()},
        None,
    ),
    "catalog_sources": (lambda t: {"domain_id": t["domain"], "platform": "shopify"}, None),
    "api_keys": (
        lambda t: {
            "customer_id": t["customer"],
            "key_id": uuid.uuid4().hex[:16],
            "key_hash": uuid.uuid4().hex * 2,
        },
        None,
    ),
    # hybrid search's per-domain stop words (0125): tenants read their own, only workers write
    "domain_keyword_stats": (lambda t: {"domain_id": t["domain"], "chunks": 1}, None),
}


def insert_row(conn: psycopg.Connection, table: str, values: dict[str, Any]) -> Any:
    cols = list(values)
    query = sql.SQL("INSERT INTO public.{} ({}) VALUES ({}) RETURNING id").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, cols)),
        sql.SQL(", ").join(sql.Placeholder() * len(cols)),
    )
    row = conn.execute(query, [values[c] for c in cols]).fetchone()
    return row["id"] if isinstance(row, dict) else row[0]


def build_world(conn: psycopg.Connection, name: str) -> Tenant:
    """An auth user and one row in every table, all owned by it (as the superuser)."""
    tenant = Tenant(name)
    tenant.ids["user"] = conn.execute(
        # an id of its own: Supabase's auth.users has no default (Supabase Auth chooses it)
        "INSERT INTO auth.users (id, email) VALUES (gen_random_uuid(), %s) RETURNING id",
        (f"{name}-{_u()}@auth.test",),
    ).fetchone()["id"]
    for table, (spec, provides) in ROW_SPECS.items():
        row_id = insert_row(conn, table, spec(tenant))
        tenant.rows[table] = row_id
        if provides:
            tenant.ids[provides] = row_id
    return tenant


@contextmanager
def as_tenant(conn: psycopg.Connection, user_id: Any) -> Iterator[psycopg.Connection]:
    """One transaction as role `authenticated` with auth.uid() = user_id (rolled back after)."""
    with conn.transaction(force_rollback=True):
        conn.execute("SET LOCAL ROLE authenticated")
        conn.execute(
            "SELECT set_config('request.jwt.claims', %s, true)",
            (json.dumps({"sub": str(user_id), "role": "authenticated"}),),
        )
        yield conn


@contextmanager
def as_role(conn: psycopg.Connection, role: str) -> Iterator[psycopg.Connection]:
    with conn.transaction(force_rollback=True):
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        yield conn


def truncate_all(conn: psycopg.Connection) -> None:
    """Empty every public table but the migrations' bookkeeping, and auth.users."""
    # Only the tables written since their last TRUNCATE (a heap of any size: rows, or the dead
    # ones a DELETE left, which steer the planner): TRUNCATE gives every table and index it
    # names new files, ~90 ms for all of them before each of ~2,000 tests, most of which write
    # to a few tables.
    filled = [
        r["relname"] if isinstance(r, dict) else r[0]
        for r in conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relkind = 'r' AND relname <> 'schema_migrations' AND pg_relation_size(oid) > 0"
        ).fetchall()
    ]
    if filled:
        conn.execute("TRUNCATE " + ", ".join(f'public."{t}"' for t in filled) + " CASCADE")
    conn.execute("DELETE FROM auth.users")
    # Per-domain vector indexes follow the data (db/vector_indexes.py): the emptied table has none.
    for r in conn.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = to_regclass('public.page_embeddings') "
        "AND c.relname LIKE 'idx\\_page\\_embeddings\\_vector\\_d\\_%'"
    ).fetchall():
        name = r["relname"] if isinstance(r, dict) else r[0]
        conn.execute(f'DROP INDEX public."{name}"')


def public_tables(conn: psycopg.Connection) -> set[str]:
    return {
        r["relname"]
        for r in conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relkind IN ('r', 'p')"
        ).fetchall()
    }


_FINGERPRINT = """
WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname IN ('public', 'auth', 'omni_quarantine'))
SELECT 'column ' || c.oid::regclass || '.' || a.attname || ' '
    || format_type(a.atttypid, a.atttypmod)
       || ' #' || a.attnum || ' notnull=' || a.attnotnull || ' default='
       || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
 WHERE c.relnamespace IN (SELECT oid FROM ns) AND c.relkind IN ('r', 'p', 'v', 'm')
UNION ALL
SELECT 'relation ' || c.oid::regclass || ' kind=' || c.relkind::text || ' rls=' || c.relrowsecurity
  FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM ns) AND c.relkind IN ('r', 'p', 'v', 'm')
UNION ALL
SELECT 'grant ' || c.oid::regclass || ' ' || coalesce(g.rolname, 'PUBLIC') || ' '
    || x.privilege_type
  FROM pg_class c, aclexplode(c.relacl) x LEFT JOIN pg_roles g ON g.oid = x.grantee
 WHERE c.relnamespace IN (SELECT oid FROM ns) AND c.relkind IN ('r', 'p', 'v', 'm')
   AND x.grantee <> c.relowner
UNION ALL
SELECT 'constraint ' || co.conrelid::regclass || ' ' || co.conname || ' '
    || pg_get_constraintdef(co.oid)
  FROM pg_constraint co WHERE co.connamespace IN (SELECT oid FROM ns)
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE c.relnamespace IN (SELECT oid FROM ns)
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid)
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace IN (SELECT oid FROM ns) AND NOT t.tgisinternal
UNION ALL
SELECT 'policy ' || p.polrelid::regclass || ' ' || p.polname || ' ' || p.polcmd::text || ' '
       || coalesce(pg_get_expr(p.polqual, p.polrelid), '') || ' / '
       || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '')
  FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
      WHERE c.relnamespace IN (SELECT oid FROM ns)
UNION ALL
SELECT 'function ' || p.oid::regprocedure || ' secdef=' || p.prosecdef || ' config='
       || coalesce(array_to_string(p.proconfig, ','), '') || ' body=' || md5(p.prosrc)
  FROM pg_proc p WHERE p.pronamespace IN (SELECT oid FROM ns)
UNION ALL
SELECT 'execute ' || p.oid::regprocedure || ' ' || coalesce(g.rolname, 'PUBLIC')
  FROM pg_proc p, aclexplode(p.proacl) x LEFT JOIN pg_roles g ON g.oid = x.grantee
 WHERE p.pronamespace IN (SELECT oid FROM ns) AND x.grantee <> p.proowner
UNION ALL
SELECT 'event trigger ' || evtname FROM pg_event_trigger WHERE evtname LIKE 'omni%'
UNION ALL
SELECT 'extension ' || extname FROM pg_extension
"""


def schema_fingerprint(conn: psycopg.Connection) -> set[str]:
    """One line per column, relation, grant, constraint, index, trigger, policy and function of the
    project's schemas: two databases with the same set have the same schema (order-free)."""
    return {
        next(iter(r.values())) if isinstance(r, dict) else r[0]
        for r in conn.execute(_FINGERPRINT).fetchall()
    }

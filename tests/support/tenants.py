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
# becomes. Every public table except schema_migrations must be here (test_rls checks).
ROW_SPECS: dict[str, tuple[Callable[[Tenant], dict[str, Any]], str | None]] = {
    "customers": (lambda t: {"auth_user_id": t["user"], "email": f"{t.name}-{_u()}@example.test"},
                  "customer"),
    "domains": (lambda t: {"user_id": t["user"], "domain": f"{t.name}-{_u()}.example.test"}, "domain"),
    "businesses": (lambda t: {"owner_user_id": t["user"], "customer_id": t["customer"],
                              "name": f"{t.name} inc"}, "business"),
    "customer_configs": (lambda t: {"customer_id": t["customer"], "domain_id": t["domain"]}, None),
    "domain_claims": (lambda t: {"user_id": t["user"], "domain": f"{t.name}-{_u()}.claim.test"}, None),
    "scraped_pages": (lambda t: {"domain_id": t["domain"], "url": f"https://x.test/{_u()}"}, "page"),
    "website_content": (lambda t: {"domain_id": t["domain"], "url": f"https://x.test/{_u()}"},
                        "content"),
    "structured_extractions": (lambda t: {"domain_id": t["domain"], "url": "https://x.test/p",
                                          "extract_type": "faq", "extracted_data": Jsonb({})}, None),
    "content_refresh_jobs": (lambda t: {"domain_id": t["domain"], "job_type": "crawl"}, None),
    "content_hashes": (lambda t: {"domain_id": t["domain"], "content_hash": _u()}, None),
    "page_content_references": (lambda t: {"domain_id": t["domain"], "source_url": f"https://x.test/{_u()}",
                                           "target_url": "https://x.test/t"}, None),
    "domain_patterns": (lambda t: {"domain_id": t["domain"], "pattern_type": _u()}, None),
    "page_embeddings": (lambda t: {"page_id": t["page"], "chunk_text": "chunk"}, None),
    "ai_optimized_content": (lambda t: {"domain_id": t["domain"], "source_content_id": t["content"],
                                        "url": f"https://x.test/{_u()}", "content_type": "page"}, None),
    "training_data": (lambda t: {"user_id": t["user"], "domain_id": t["domain"], "type": "qa",
                                 "input_text": "q", "output_text": "a"}, None),
    "conversations": (lambda t: {"customer_id": t["customer"], "domain_id": t["domain"]},
                      "conversation"),
    "messages": (lambda t: {"conversation_id": t["conversation"], "role": "user", "content": "hi"}, None),
    "chat_sessions": (lambda t: {"customer_id": t["customer"], "domain_id": t["domain"]}, "session"),
    "chat_messages": (lambda t: {"session_id": t["session"], "role": "user", "content": "hi"}, None),
    "customer_verifications": (lambda t: {"customer_id": t["customer"], "domain_id": t["domain"],
                                          "verification_type": "email", "identifier": "e@x.test"}, None),
    "customer_access_logs": (lambda t: {"customer_id": t["customer"], "domain_id": t["domain"],
                                        "actor": "service", "action": "read"}, None),
    "customer_data_cache": (lambda t: {"customer_id": t["customer"], "domain_id": t["domain"],
                                       "cache_key": _u(), "data": Jsonb({})}, None),
    "privacy_requests": (lambda t: {"customer_id": t["customer"], "domain_id": t["domain"],
                                    "request_type": "access", "requester_email": "e@x.test"}, None),
    "business_configs": (lambda t: {"business_id": t["business"]}, None),
    "business_usage": (lambda t: {"business_id": t["business"], "domain_id": t["domain"],
                                  "usage_type": _u()}, None),
    "catalog_sources": (lambda t: {"domain_id": t["domain"], "platform": "shopify"}, None),
    "api_keys": (lambda t: {"customer_id": t["customer"], "key_id": uuid.uuid4().hex[:16],
                            "key_hash": uuid.uuid4().hex * 2}, None),
}


def insert_row(conn: psycopg.Connection, table: str, values: dict[str, Any]) -> Any:
    cols = list(values)
    query = sql.SQL("INSERT INTO public.{} ({}) VALUES ({}) RETURNING id").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, cols)),
        sql.SQL(", ").join(sql.Placeholder() * len(cols)))
    row = conn.execute(query, [values[c] for c in cols]).fetchone()
    return row["id"] if isinstance(row, dict) else row[0]


def build_world(conn: psycopg.Connection, name: str) -> Tenant:
    """An auth user and one row in every table, all owned by it (as the superuser)."""
    tenant = Tenant(name)
    tenant.ids["user"] = conn.execute(
        "INSERT INTO auth.users (email) VALUES (%s) RETURNING id", (f"{name}-{_u()}@auth.test",)
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
        conn.execute("SELECT set_config('request.jwt.claims', %s, true)",
                     (json.dumps({"sub": str(user_id), "role": "authenticated"}),))
        yield conn


@contextmanager
def as_role(conn: psycopg.Connection, role: str) -> Iterator[psycopg.Connection]:
    with conn.transaction(force_rollback=True):
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        yield conn


def public_tables(conn: psycopg.Connection) -> set[str]:
    return {r["relname"] for r in conn.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
        "AND relkind IN ('r', 'p')").fetchall()}



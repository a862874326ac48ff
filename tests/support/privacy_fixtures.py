"""A data subject with real rows in every table that can hold them, beside a bystander with the
same shape of rows (tests of the privacy job, the CLI and the dashboard)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from psycopg.types.json import Jsonb

from core.config import get_settings
from db import jobs
from db.connection import connect
from tests.support.tenants import insert_row
from workers.job_runner import run_job
from workers.privacy_job import run_privacy

EMAIL = "sam.subject@example.test"
SESSION = "sess-7f3c9a-subject"
BYSTANDER = "bea.bystander@example.test"
BYSTANDER_SESSION = "sess-bystander-0001"


@dataclass
class SubjectWorld:
    domain_id: Any
    domain: str
    user_id: Any
    ids: dict[str, list[Any]] = field(default_factory=dict)  # the subject's rows
    bystander: dict[str, list[Any]] = field(default_factory=dict)  # rows that must stay


def _person(conn, world: SubjectWorld, email: str, session: str, out: dict[str, list[Any]]) -> None:
    def add(table: str, values: dict[str, Any]) -> Any:
        row_id = insert_row(conn, table, values)
        out.setdefault(table, []).append(row_id)
        return row_id

    d = world.domain_id
    customer = add("customers", {"auth_user_id": world.user_id, "email": email, "name": "Sam"})
    conv = add(
        "conversations",
        {
            "customer_id": customer,
            "domain_id": d,
            "session_id": session,
            "metadata": Jsonb({"email": email}),
        },
    )
    add(
        "messages",
        {
            "conversation_id": conv,
            "role": "user",
            "content": f"My email is {email}, where is order 1001?",
        },
    )
    add("messages", {"conversation_id": conv, "role": "assistant", "content": "It ships today."})
    # an anonymous chat found by its session id only
    anon = add("conversations", {"domain_id": d, "session_id": session})
    add("messages", {"conversation_id": anon, "role": "user", "content": f"session {session}"})
    chat = add(
        "chat_sessions",
        {
            "customer_id": customer,
            "domain_id": d,
            "session_token": session,
            "visitor_id": f"v-{session}",
            "metadata": Jsonb({"email": email}),
        },
    )
    add("chat_messages", {"session_id": chat, "role": "user", "content": f"I am {email}"})
    add(
        "customer_data_cache",
        {
            "customer_id": customer,
            "domain_id": d,
            "cache_key": "orders",
            "data": Jsonb({"email": email, "orders": [1001]}),
        },
    )
    add(
        "customer_verifications",
        {
            "customer_id": customer,
            "domain_id": d,
            "verification_type": "email",
            "identifier": email,
        },
    )
    add(
        "customer_verifications",
        {"domain_id": d, "verification_type": "email", "identifier": email.upper()},
    )
    add(
        "customer_access_logs",
        {
            "customer_id": customer,
            "domain_id": d,
            "actor": "assistant",
            "action": "read",
            "resource": f"orders of {email}",
            "ip_address": "203.0.113.7",
            "user_agent": "Mozilla/5.0",
            "metadata": Jsonb({"session": session}),
        },
    )
    add(
        "privacy_requests",
        {
            "customer_id": customer,
            "domain_id": d,
            "request_type": "access",
            "requester_email": email,
            "details": Jsonb(
                {"subject": {"email": email, "session_id": session}, "note": f"asked by {email}"}
            ),
        },
    )
    # derived knowledge: a curated answer written from the subject's chat, and its page + chunk
    training = add(
        "training_data",
        {
            "user_id": world.user_id,
            "domain_id": d,
            "type": "qa",
            "input_text": "Where is order 1001?",
            "output_text": f"Order 1001 for {email} ships today.",
            "metadata": Jsonb({"conversation_id": str(conv)}),
        },
    )
    page = add(
        "scraped_pages",
        {
            "domain_id": d,
            "url": f"curated:{training}",
            "title": "Where is order 1001?",
            "content": f"Order 1001 for {email} ships today.",
            "status": "scraped",
        },
    )
    add("page_embeddings", {"page_id": page, "chunk_text": f"Order 1001 for {email} ships today."})


@pytest.fixture
def subject_world(db) -> SubjectWorld:
    user = db.execute(
        "INSERT INTO auth.users (email) VALUES ('owner@tenant.test') RETURNING id"
    ).fetchone()["id"]
    domain = db.execute(
        "INSERT INTO domains (user_id, domain) VALUES (%s, 'shop.privacy.test') "
        "RETURNING id, domain",
        (user,),
    ).fetchone()
    world = SubjectWorld(domain["id"], domain["domain"], user)
    _person(db, world, EMAIL, SESSION, world.ids)
    _person(db, world, BYSTANDER, BYSTANDER_SESSION, world.bystander)
    # crawled knowledge that names nobody
    page = insert_row(
        db,
        "scraped_pages",
        {
            "domain_id": world.domain_id,
            "url": "https://shop.privacy.test/shipping",
            "title": "Shipping",
            "content": "We ship in 2 days.",
            "status": "scraped",
        },
    )
    insert_row(db, "page_embeddings", {"page_id": page, "chunk_text": "We ship in 2 days."})
    world.bystander.setdefault("scraped_pages", []).append(page)
    return world


def run_privacy_job(job_id) -> dict:
    """A privacy job through the real job runner; returns the job row afterwards."""

    try:
        run_job(str(job_id), ("privacy",), run_privacy, get_settings())
    finally:
        with connect(autocommit=True) as conn:
            job = jobs.get(conn, job_id)
    return job


def database_hits(conn, needles: list[str]) -> list[str]:
    """`schema.table.column` of every text, json or array column of every table in the
    database (all schemas but the system's) holding one of `needles`, case-insensitively."""
    columns = conn.execute(
        "SELECT n.nspname AS schema, c.relname AS tbl, a.attname AS col "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE c.relkind IN ('r', 'p', 'm') AND a.attnum > 0 AND NOT a.attisdropped "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
        "AND (t.typcategory IN ('S', 'A') OR t.typname IN ('json', 'jsonb', 'inet', 'tsvector'))"
    ).fetchall()
    hits = []
    for c in columns:
        ident = f'"{c["schema"]}"."{c["tbl"]}"'
        found = conn.execute(
            f'SELECT count(*) AS n FROM {ident} WHERE "{c["col"]}"::text ILIKE ANY(%s)',
            ([f"%{n}%" for n in needles],),
        ).fetchone()["n"]
        if found:
            hits.append(f"{c['schema']}.{c['tbl']}.{c['col']}")
    return hits

"""Customers and domains: the tenant side of the schema."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg.types.json import Jsonb

from core.errors import InvalidValue, NotFound
from core.frequency import validate_frequency
from core.knowledge import valid_patterns
from db.connection import Conn, one
from db.source_counts import SOURCE_COUNT_COLUMNS


def add_customer(
    conn: Conn,
    email: str,
    name: str | None = None,
    company_name: str | None = None,
    auth_user_id: str | None = None,
) -> dict[str, Any]:
    """Create (or update) a customer, linked to its auth user. Idempotent on email.

    The auth user is `auth_user_id` when given; else, on Supabase, the Supabase Auth user with
    this email (Supabase Auth owns auth.users there: nothing is inserted); else (plain Postgres,
    the project's stand-in for auth.users) one is created for the email."""
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidValue(f"not an email address: {email!r}")
    user_id = auth_user(conn, email, auth_user_id)
    return one(
        conn.execute(
            "INSERT INTO customers (auth_user_id, email, name, company_name) VALUES (%s, %s, %s, "
            "%s) "
            "ON CONFLICT (auth_user_id, email) DO UPDATE SET name = COALESCE(EXCLUDED.name, "
            "customers.name), "
            "company_name = COALESCE(EXCLUDED.company_name, customers.company_name) RETURNING *",
            (user_id, email, name, company_name),
        )
    )


def on_supabase(conn: Conn) -> bool:
    """Whether auth.users is Supabase Auth's (migration 0070 defines the test)."""
    return one(conn.execute("SELECT public.omni_on_supabase() AS yes"))["yes"]


def auth_user(conn: Conn, email: str, auth_user_id: str | None = None) -> Any:
    """The id of the auth user a customer with this email belongs to (see add_customer)."""
    if auth_user_id is not None:
        try:
            wanted = uuid.UUID(auth_user_id)
        except ValueError:
            raise InvalidValue(f"--auth-user-id is not a uuid: {auth_user_id!r}") from None
        row = conn.execute("SELECT id FROM auth.users WHERE id = %s", (wanted,)).fetchone()
        if row is None:
            raise NotFound(f"no auth user with id {wanted}")
        return row["id"]
    if not on_supabase(conn):
        return one(
            conn.execute(
                "INSERT INTO auth.users (email) VALUES (%s) "
                "ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email RETURNING id",
                (email,),
            )
        )["id"]
    # Supabase Auth keeps emails lower-case; only non-SSO users have unique emails
    # (users_email_partial_key ... WHERE is_sso_user = false).
    rows = conn.execute(
        "SELECT id FROM auth.users WHERE lower(email) = %s AND deleted_at IS NULL "
        "ORDER BY is_sso_user, created_at",
        (email,),
    ).fetchall()
    if len(rows) == 1:
        return rows[0]["id"]
    if not rows:
        raise NotFound(
            f"no Supabase Auth user has the email {email}: create it first (Dashboard > "
            "Authentication > Add user, or auth.admin.createUser()), then run this again, "
            "or pass --auth-user-id"
        )
    raise InvalidValue(
        f"{len(rows)} Supabase Auth users have the email {email} (SSO identities): "
        "choose one with --auth-user-id"
    )


def get_customer(conn: Conn, email: str) -> dict[str, Any] | None:
    """The operator's customer for this email: its auth user has the email too (emails are unique
    per tenant only, so a tenant's own customers row with someone else's email never matches)."""
    email = email.strip().lower()
    return conn.execute(
        "SELECT c.* FROM customers c JOIN auth.users u ON u.id = c.auth_user_id "
        "WHERE c.email = %s AND u.email = %s",
        (email, email),
    ).fetchone()


def add_domain(
    conn: Conn,
    domain: str,
    *,
    frequency: str | None = None,
    max_pages: int | None = None,
    render_js: bool | None = None,
    customer: dict[str, Any] | None = None,
    name: str | None = None,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
) -> dict[str, Any]:
    """Register a domain (already normalised) or update the settings given. Idempotent.
    `include` / `exclude` replace the domain's knowledge URL patterns (`core.knowledge`)."""
    if frequency is not None:
        validate_frequency(frequency)
    rules = {
        key: valid_patterns(value)
        for key, value in (("include", include), ("exclude", exclude))
        if value is not None
    }
    row = one(
        conn.execute(
            "INSERT INTO domains (domain, name, scrape_frequency, max_pages, render_js, user_id, "
            "                     knowledge_rules) "
            "VALUES (%(domain)s, %(name)s, COALESCE(%(frequency)s, 'weekly'), %(max_pages)s, "
            "        COALESCE(%(render_js)s, false), %(user_id)s, %(rules)s) "
            "ON CONFLICT (domain) DO UPDATE SET "
            "  name = COALESCE(EXCLUDED.name, domains.name), "
            "  scrape_frequency = COALESCE(%(frequency)s, domains.scrape_frequency), "
            "  max_pages = COALESCE(%(max_pages)s, domains.max_pages), "
            "  render_js = COALESCE(%(render_js)s, domains.render_js), "
            "  knowledge_rules = domains.knowledge_rules || %(rules)s, "
            "  user_id = COALESCE(EXCLUDED.user_id, domains.user_id) "
            "RETURNING *",
            {
                "domain": domain,
                "name": name,
                "frequency": frequency,
                "max_pages": max_pages,
                "render_js": render_js,
                "user_id": customer["auth_user_id"] if customer else None,
                "rules": Jsonb(rules),
            },
        )
    )
    if customer:
        conn.execute(
            "INSERT INTO customer_configs (customer_id, domain, business_name) VALUES (%s, %s, %s) "
            "ON CONFLICT (domain) DO UPDATE SET customer_id = EXCLUDED.customer_id",
            (customer["id"], domain, customer.get("company_name")),
        )
    return row


def get_domain(conn: Conn, domain: str) -> dict[str, Any] | None:
    return conn.execute("SELECT * FROM domains WHERE domain = %s", (domain,)).fetchone()


def owned_domains(conn: Conn, domain: str) -> list[str]:
    """The other hosts that belong to this site (customer_configs.owned_domains)."""
    row = conn.execute(
        "SELECT owned_domains FROM customer_configs WHERE domain = %s", (domain,)
    ).fetchone()
    return list(row["owned_domains"] or []) if row else []


def list_domains(conn: Conn) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT d.*, c.email AS customer_email, "
        "  (SELECT count(*) FROM scraped_pages p WHERE p.domain_id = d.id) AS pages, "
        + SOURCE_COUNT_COLUMNS
        + " "
        "FROM domains d LEFT JOIN customers c ON c.auth_user_id = d.user_id "
        "ORDER BY d.domain"
    ).fetchall()

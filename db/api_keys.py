"""API keys of `omni serve` (migration 0111, docs/serve.md).

A key is `omni_<key_id>_<secret>`: key_id (16 hex characters) finds the row, the whole key's
SHA-256 is what is stored, compared in constant time. The secret is 32 random bytes, so the key
cannot be guessed and a plain hash is enough. The key itself is shown once and never stored."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidValue, NotFound
from db.connection import Conn, one
from db.tenants import get_customer

PREFIX = "omni_"
_KEY = re.compile(r"^omni_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
DEFAULT_RATE_LIMIT = 10  # customer_configs.rate_limit's default: requests per minute


@dataclass(frozen=True)
class KeyOwner:
    """Who a valid key speaks for, and the limits of its customer's configuration."""

    key_id: str
    customer_id: Any
    auth_user_id: Any
    allowed_origins: tuple[str, ...]
    rate_limit: int  # requests per minute


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> tuple[str, str]:
    """(key_id, key)."""
    key_id = secrets.token_hex(8)
    return key_id, f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def create(conn: Conn, customer_email: str, label: str | None = None) -> tuple[dict[str, Any], str]:
    """A new key for the customer: (its row, the key). The key is in no row and no log."""
    customer = get_customer(conn, customer_email)
    if customer is None:
        raise NotFound(f"unknown customer {customer_email!r} (add it with `omni customer add`)")
    key_id, key = new_key()
    row = one(
        conn.execute(
            "INSERT INTO api_keys (customer_id, key_id, key_hash, label) VALUES (%s, %s, %s, %s) "
            "RETURNING id, key_id, customer_id, label, created_at",
            (customer["id"], key_id, key_hash(key), label),
        )
    )
    return row, key


def revoke(conn: Conn, key_id: str) -> None:
    row = conn.execute(
        "UPDATE api_keys SET revoked_at = NOW() WHERE key_id = %s AND revoked_at IS NULL "
        "RETURNING id",
        (key_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no active key {key_id!r}")


def list_keys(conn: Conn) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT k.key_id, c.email, k.label, k.created_at, k.last_used_at, k.revoked_at "
        "FROM api_keys k JOIN customers c ON c.id = k.customer_id ORDER BY k.created_at"
    ).fetchall()


def parse(key: str) -> str:
    """The key_id of a well-formed key; InvalidValue otherwise."""
    match = _KEY.match(key or "")
    if not match:
        raise InvalidValue("not an omni API key")
    return match.group(1)


def owner(conn: Conn, key: str) -> KeyOwner | None:
    """The owner of an active key, or None (unknown, revoked, malformed or wrong). Read with the
    service's own connection: the key is what establishes the tenant."""
    try:
        key_id = parse(key)
    except InvalidValue:
        return None
    row = conn.execute(
        "SELECT k.key_id, k.key_hash, k.customer_id, c.auth_user_id, "
        "  (SELECT array_agg(DISTINCT o) FROM customer_configs cc, unnest(cc.allowed_origins) o "
        "    WHERE cc.customer_id = k.customer_id) AS origins, "
        "  (SELECT max(cc.rate_limit) FROM customer_configs cc WHERE cc.customer_id = "
        "k.customer_id) AS rate "
        "FROM api_keys k JOIN customers c ON c.id = k.customer_id "
        "WHERE k.key_id = %s AND k.revoked_at IS NULL",
        (key_id,),
    ).fetchone()
    if row is None or not hmac.compare_digest(row["key_hash"], key_hash(key)):
        return None
    if row["auth_user_id"] is None:
        return None
    return KeyOwner(
        row["key_id"],
        row["customer_id"],
        row["auth_user_id"],
        tuple(row["origins"] or ()),
        int(row["rate"] or DEFAULT_RATE_LIMIT),
    )


def known_origins(conn: Conn) -> set[str]:
    """Every origin some customer allows ('*' among them if any allows all): what a preflight,
    which carries no key, is answered for."""
    return {
        r["o"]
        for r in conn.execute(
            "SELECT DISTINCT unnest(allowed_origins) AS o FROM customer_configs"
        ).fetchall()
    }


def touch(conn: Conn, key_id: str) -> None:
    conn.execute(
        "UPDATE api_keys SET last_used_at = NOW() WHERE key_id = %s "
        "AND (last_used_at IS NULL OR last_used_at < NOW() - interval '1 minute')",
        (key_id,),
    )

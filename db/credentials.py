"""Encrypted credentials in customer_configs and business_configs (omni/crypto.py envelopes).

Where each value lives (and the associated data that binds its ciphertext to that place):
- customer_configs.woocommerce_consumer_key / woocommerce_consumer_secret: envelope JSON text,
  aad "customer_configs.<column>:<row id>".
- customer_configs.encrypted_credentials: {name: envelope}, aad
  "customer_configs.encrypted_credentials.<name>:<row id>".
- business_configs.encrypted_secrets: {name: envelope}, aad
  "business_configs.encrypted_secrets.<name>:<row id>".
Plaintext is never written to the database and never logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from omni.crypto import CryptoError, Keyring, dumps, load_envelope
from omni.errors import NotFound

log = logging.getLogger(__name__)

WOO_COLUMNS = ("woocommerce_consumer_key", "woocommerce_consumer_secret")


def _aad(table: str, column: str, row_id: UUID | str, name: str | None = None) -> str:
    place = f"{table}.{column}" + (f".{name}" if name is not None else "")
    return f"{place}:{row_id}"


def _keyring(keyring: Keyring | None) -> Keyring:
    return keyring if keyring is not None else Keyring.from_settings()


def _config_id(conn: psycopg.Connection, domain: str) -> UUID:
    """customer_configs row of a registered domain (created if the domain has none yet)."""
    if conn.execute("SELECT 1 FROM domains WHERE domain = %s", (domain,)).fetchone() is None:
        raise NotFound(f"no domain {domain!r}; run `omni domain add {domain}` first")
    row = conn.execute(
        "INSERT INTO customer_configs (domain) VALUES (%s) "
        "ON CONFLICT (domain) DO UPDATE SET domain = EXCLUDED.domain RETURNING id",
        (domain,),
    ).fetchone()
    return row["id"]


# ---------------------------------------------------------------- WooCommerce
@dataclass(frozen=True)
class WooCommerceCredentials:
    url: str | None
    consumer_key: str
    consumer_secret: str

    def __repr__(self) -> str:  # never show the secrets in logs or tracebacks
        return f"WooCommerceCredentials(url={self.url!r}, consumer_key=***, consumer_secret=***)"


def set_woocommerce(conn: psycopg.Connection, domain: str, consumer_key: str, consumer_secret: str,
                    url: str | None = None, keyring: Keyring | None = None) -> UUID:
    """Store a domain's WooCommerce API credentials encrypted; returns the customer_configs id."""
    ring = _keyring(keyring)
    if not consumer_key or not consumer_secret:
        raise ValueError("WooCommerce consumer key and secret must not be empty")
    with conn.transaction():
        config_id = _config_id(conn, domain)
        values = {column: dumps(ring.encrypt(plain, _aad("customer_configs", column, config_id)))
                  for column, plain in zip(WOO_COLUMNS, (consumer_key, consumer_secret))}
        conn.execute(
            "UPDATE customer_configs SET woocommerce_consumer_key = %(woocommerce_consumer_key)s, "
            "woocommerce_consumer_secret = %(woocommerce_consumer_secret)s, "
            "woocommerce_url = COALESCE(%(url)s, woocommerce_url) WHERE id = %(id)s",
            {**values, "url": url, "id": config_id},
        )
    log.info("stored WooCommerce credentials for %s (key %s)", domain, ring.current_kid)
    return config_id


def get_woocommerce(conn: psycopg.Connection, domain: str,
                    keyring: Keyring | None = None) -> WooCommerceCredentials | None:
    row = conn.execute(
        "SELECT id, woocommerce_url, woocommerce_consumer_key, woocommerce_consumer_secret "
        "FROM customer_configs WHERE domain = %s", (domain,),
    ).fetchone()
    if row is None or not row["woocommerce_consumer_key"] or not row["woocommerce_consumer_secret"]:
        return None
    ring = _keyring(keyring)
    key, secret = (ring.decrypt(row[c], _aad("customer_configs", c, row["id"])) for c in WOO_COLUMNS)
    return WooCommerceCredentials(row["woocommerce_url"], key, secret)


# ---------------------------------------------------------------- named secrets (JSONB maps)
def set_credential(conn: psycopg.Connection, domain: str, name: str, value: str,
                   keyring: Keyring | None = None) -> None:
    """customer_configs.encrypted_credentials[name] = envelope(value)."""
    ring = _keyring(keyring)
    with conn.transaction():
        config_id = _config_id(conn, domain)
        env = ring.encrypt(value, _aad("customer_configs", "encrypted_credentials", config_id, name))
        conn.execute(
            "UPDATE customer_configs SET encrypted_credentials = "
            "COALESCE(encrypted_credentials, '{}'::jsonb) || jsonb_build_object(%s::text, %s::jsonb) "
            "WHERE id = %s", (name, Jsonb(env), config_id),
        )


def get_credential(conn: psycopg.Connection, domain: str, name: str,
                   keyring: Keyring | None = None) -> str | None:
    row = conn.execute(
        "SELECT id, encrypted_credentials -> %s AS env FROM customer_configs WHERE domain = %s",
        (name, domain),
    ).fetchone()
    if row is None or row["env"] is None:
        return None
    return _keyring(keyring).decrypt(
        row["env"], _aad("customer_configs", "encrypted_credentials", row["id"], name))


def set_business_secret(conn: psycopg.Connection, business_id: UUID | str, name: str, value: str,
                        keyring: Keyring | None = None) -> None:
    """business_configs.encrypted_secrets[name] = envelope(value) (row created if needed)."""
    ring = _keyring(keyring)
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO business_configs (business_id) VALUES (%s) ON CONFLICT (business_id) "
            "DO UPDATE SET business_id = EXCLUDED.business_id RETURNING id", (business_id,),
        ).fetchone()
        env = ring.encrypt(value, _aad("business_configs", "encrypted_secrets", row["id"], name))
        conn.execute(
            "UPDATE business_configs SET encrypted_secrets = encrypted_secrets || "
            "jsonb_build_object(%s::text, %s::jsonb) WHERE id = %s", (name, Jsonb(env), row["id"]),
        )


def get_business_secret(conn: psycopg.Connection, business_id: UUID | str, name: str,
                        keyring: Keyring | None = None) -> str | None:
    row = conn.execute(
        "SELECT id, encrypted_secrets -> %s AS env FROM business_configs WHERE business_id = %s",
        (name, business_id),
    ).fetchone()
    if row is None or row["env"] is None:
        return None
    return _keyring(keyring).decrypt(
        row["env"], _aad("business_configs", "encrypted_secrets", row["id"], name))


# ---------------------------------------------------------------- rotation
def _rotate_map(ring: Keyring, table: str, column: str, row_id: UUID,
                envelopes: dict[str, Any]) -> tuple[dict[str, Any], int]:
    changed = 0
    out = dict(envelopes)
    for name, env in envelopes.items():
        if ring.needs_rotation(env):
            aad = _aad(table, column, row_id, name)
            out[name] = ring.encrypt(ring.decrypt(env, aad), aad)
            changed += 1
    return out, changed


def rotate(conn: psycopg.Connection, keyring: Keyring | None = None) -> int:
    """Re-encrypt every stored value not under the current key, in one transaction.

    Returns how many values were re-encrypted. Any value that cannot be decrypted (or is not an
    envelope) aborts the whole rotation, so nothing is left half-rotated.
    """
    ring = _keyring(keyring)
    count = 0
    with conn.transaction():
        rows = conn.execute(
            "SELECT id, domain, woocommerce_consumer_key, woocommerce_consumer_secret, "
            "encrypted_credentials FROM customer_configs "
            "WHERE woocommerce_consumer_key IS NOT NULL OR woocommerce_consumer_secret IS NOT NULL "
            "OR encrypted_credentials IS NOT NULL FOR UPDATE"
        ).fetchall()
        for row in rows:
            updates: dict[str, Any] = {}
            for column in WOO_COLUMNS:
                if row[column] is None:
                    continue
                try:
                    needs = ring.needs_rotation(row[column])
                except CryptoError as exc:
                    raise type(exc)(f"customer_configs.{column} of {row['domain']}: {exc}") from None
                if needs:
                    aad = _aad("customer_configs", column, row["id"])
                    updates[column] = dumps(ring.encrypt(ring.decrypt(row[column], aad), aad))
                    count += 1
            if row["encrypted_credentials"]:
                creds, changed = _rotate_map(ring, "customer_configs", "encrypted_credentials",
                                             row["id"], row["encrypted_credentials"])
                if changed:
                    updates["encrypted_credentials"] = Jsonb(creds)
                    count += changed
            if updates:
                sets = ", ".join(f"{column} = %({column})s" for column in updates)
                conn.execute(f"UPDATE customer_configs SET {sets} WHERE id = %(id)s",
                             {**updates, "id": row["id"]})
        for row in conn.execute(
            "SELECT id, encrypted_secrets FROM business_configs "
            "WHERE encrypted_secrets <> '{}'::jsonb FOR UPDATE"
        ).fetchall():
            secrets, changed = _rotate_map(ring, "business_configs", "encrypted_secrets", row["id"],
                                           row["encrypted_secrets"])
            if changed:
                count += changed
                conn.execute("UPDATE business_configs SET encrypted_secrets = %s WHERE id = %s",
                             (Jsonb(secrets), row["id"]))
    log.info("re-encrypted %d credential values under key %s", count, ring.current_kid)
    return count


def stored_key_ids(conn: psycopg.Connection) -> dict[str, int]:
    """How many stored values each key id encrypted (read-only; nothing is decrypted). A value
    that is not an envelope counts under "plaintext"."""
    values: list[Any] = []
    for row in conn.execute(
        "SELECT woocommerce_consumer_key, woocommerce_consumer_secret, encrypted_credentials "
        "FROM customer_configs WHERE woocommerce_consumer_key IS NOT NULL "
        "OR woocommerce_consumer_secret IS NOT NULL OR encrypted_credentials IS NOT NULL"
    ):
        values += [row[c] for c in WOO_COLUMNS if row[c] is not None]
        values += list((row["encrypted_credentials"] or {}).values())
    for row in conn.execute(
        "SELECT encrypted_secrets FROM business_configs WHERE encrypted_secrets <> '{}'::jsonb"
    ):
        values += list(row["encrypted_secrets"].values())
    counts: dict[str, int] = {}
    for value in values:
        try:
            kid = load_envelope(value)["kid"]
        except CryptoError:
            kid = "plaintext"
        counts[kid] = counts.get(kid, 0) + 1
    return counts

"""Encrypted credentials in customer_configs and business_configs (core/crypto.py envelopes).

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
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from core.crypto import CryptoError, Keyring, dumps, load_envelope
from core.errors import InvalidValue, NotFound
from db import audit
from db.connection import Conn, transaction

log = logging.getLogger(__name__)

WOO_COLUMNS = ("woocommerce_consumer_key", "woocommerce_consumer_secret")


def aad(table: str, column: str, row_id: UUID | str, name: str | None = None) -> str:
    place = f"{table}.{column}" + (f".{name}" if name is not None else "")
    return f"{place}:{row_id}"


def _keyring(keyring: Keyring | None) -> Keyring:
    return keyring if keyring is not None else Keyring.from_settings()


# The config row of a domain, only when it is the domain owner's (0041's trigger guarantees it;
# checked again here so this service-role code never follows a row another tenant steered).
_OWN_CONFIG = (
    "FROM customer_configs c JOIN domains d ON d.id = c.domain_id "
    "LEFT JOIN customers cu ON cu.id = c.customer_id "
    "WHERE d.domain = %(domain)s AND c.domain = d.domain "
    "AND (c.customer_id IS NULL OR d.user_id IS NULL OR cu.auth_user_id = d.user_id)"
)


def config_id(conn: Conn, domain: str) -> UUID:
    """customer_configs row of a registered domain (created if the domain has none yet)."""
    found = conn.execute("SELECT id FROM domains WHERE domain = %s", (domain,)).fetchone()
    if found is None:
        raise NotFound(f"no domain {domain!r}; run `omni domain add {domain}` first")
    conn.execute(
        "INSERT INTO customer_configs (domain_id, domain) VALUES (%s, %s) "
        "ON CONFLICT (domain_id) DO NOTHING",
        (found["id"], domain),
    )
    row = conn.execute(f"SELECT c.id {_OWN_CONFIG}", {"domain": domain}).fetchone()
    if row is None:
        raise NotFound(f"the configuration of {domain!r} does not belong to its owner")
    return row["id"]


# ---------------------------------------------------------------- WooCommerce
@dataclass(frozen=True)
class WooCommerceCredentials:
    url: str | None
    consumer_key: str
    consumer_secret: str

    def __repr__(self) -> str:  # never show the secrets in logs or tracebacks
        return f"WooCommerceCredentials(url={self.url!r}, consumer_key=***, consumer_secret=***)"


def set_woocommerce(
    conn: Conn,
    domain: str,
    consumer_key: str,
    consumer_secret: str,
    url: str | None = None,
    keyring: Keyring | None = None,
) -> UUID:
    """Store a domain's WooCommerce API credentials encrypted; returns the customer_configs id."""
    ring = _keyring(keyring)
    if not consumer_key or not consumer_secret:
        raise InvalidValue("WooCommerce consumer key and secret must not be empty")
    with conn.transaction():
        row_id = config_id(conn, domain)
        values = {
            column: dumps(ring.encrypt(plain, aad("customer_configs", column, row_id)))
            for column, plain in zip(WOO_COLUMNS, (consumer_key, consumer_secret), strict=False)
        }
        conn.execute(
            "UPDATE customer_configs SET woocommerce_consumer_key = %(woocommerce_consumer_key)s, "
            "woocommerce_consumer_secret = %(woocommerce_consumer_secret)s, "
            "woocommerce_url = COALESCE(%(url)s, woocommerce_url) WHERE id = %(id)s",
            {**values, "url": url, "id": row_id},
        )
    log.info("stored WooCommerce credentials for %s (key %s)", domain, ring.current_kid)
    return row_id


def get_woocommerce(
    conn: Conn,
    domain: str,
    keyring: Keyring | None = None,
    *,
    reason: str = "not given",
) -> WooCommerceCredentials | None:
    """The domain's WooCommerce credentials, decrypted. Every decryption is audited first
    (`reason` says why), on its own committed connection: the row stays even if the caller's
    transaction is rolled back or the decryption fails."""
    row = conn.execute(
        "SELECT c.id, c.domain_id, c.customer_id, c.woocommerce_url, c.woocommerce_consumer_key, "
        f"c.woocommerce_consumer_secret {_OWN_CONFIG}",
        {"domain": domain},
    ).fetchone()
    if row is None or not row["woocommerce_consumer_key"] or not row["woocommerce_consumer_secret"]:
        return None
    ring = _keyring(keyring)
    with transaction() as log_conn:
        audit.record(
            log_conn,
            audit.Action.DECRYPT,
            f"customer_configs:{row['id']}",
            reason,
            domain_id=row["domain_id"],
            customer_id=row["customer_id"],
            metadata={"columns": list(WOO_COLUMNS)},
        )
    key, secret = (ring.decrypt(row[c], aad("customer_configs", c, row["id"])) for c in WOO_COLUMNS)
    return WooCommerceCredentials(row["woocommerce_url"], key, secret)


# ---------------------------------------------------------------- named secrets (JSONB maps)
# customer_configs.encrypted_credentials and business_configs.encrypted_secrets are written by
# the customer-facing application, not by this project; it only rotates (below) and counts them
# (stored_key_ids). tests/support/secrets.py writes them the same way for the tests.


# ---------------------------------------------------------------- rotation
@dataclass
class RotationResult:
    rotated: int = 0
    skipped: list[str] = field(default_factory=list)  # "table.column[name] of <where>: reason"


def _rotate_one(ring: Keyring, value: Any, aad: str) -> Any | None:
    """The value re-encrypted under the current key, or None when it already is."""
    if not ring.needs_rotation(value):
        return None
    return ring.encrypt(ring.decrypt(value, aad), aad)


def _rotate_map(
    ring: Keyring,
    table: str,
    column: str,
    row_id: UUID,
    where: str,
    envelopes: dict[str, Any],
    result: RotationResult,
) -> dict[str, Any] | None:
    out = dict(envelopes)
    changed = False
    for name, env in envelopes.items():
        try:
            new = _rotate_one(ring, env, aad(table, column, row_id, name))
        except CryptoError as exc:
            result.skipped.append(f"{table}.{column}[{name}] of {where}: {exc}")
            continue
        if new is not None:
            out[name] = new
            changed = True
            result.rotated += 1
    return out if changed else None


def rotate(
    conn: Conn, keyring: Keyring | None = None, *, reason: str = "key rotation"
) -> RotationResult:
    """Re-encrypt every stored value not under the current key, in one transaction.

    A value that cannot be read (plaintext, unknown key id, failed authentication) is skipped
    and reported by table, column and domain (or business); every other value is rotated, so one
    tenant's bad row never blocks rotation for all. The caller reports the skips as a failure.
    """
    ring = _keyring(keyring)
    result = RotationResult()
    with conn.transaction():
        rows = conn.execute(
            "SELECT id, domain, woocommerce_consumer_key, woocommerce_consumer_secret, "
            "encrypted_credentials FROM customer_configs "
            "WHERE woocommerce_consumer_key IS NOT NULL OR woocommerce_consumer_secret IS NOT NULL "
            "OR encrypted_credentials IS NOT NULL FOR UPDATE"
        ).fetchall()
        for row in rows:
            where = f"domain {row['domain']}"
            updates: dict[str, Any] = {}
            for column in WOO_COLUMNS:
                if row[column] is None:
                    continue
                try:
                    new = _rotate_one(ring, row[column], aad("customer_configs", column, row["id"]))
                except CryptoError as exc:
                    result.skipped.append(f"customer_configs.{column} of {where}: {exc}")
                    continue
                if new is not None:
                    updates[column] = dumps(new)
                    result.rotated += 1
            creds = row["encrypted_credentials"]
            if isinstance(creds, dict) and creds:
                rotated = _rotate_map(
                    ring,
                    "customer_configs",
                    "encrypted_credentials",
                    row["id"],
                    where,
                    creds,
                    result,
                )
                if rotated is not None:
                    updates["encrypted_credentials"] = Jsonb(rotated)
            elif creds is not None and not isinstance(creds, dict):
                result.skipped.append(
                    f"customer_configs.encrypted_credentials of {where}: "
                    "not a JSON object of envelopes"
                )
            if updates:
                sets = ", ".join(f"{column} = %({column})s" for column in updates)
                conn.execute(
                    f"UPDATE customer_configs SET {sets} WHERE id = %(id)s",
                    {**updates, "id": row["id"]},
                )
        for row in conn.execute(
            "SELECT id, business_id, encrypted_secrets FROM business_configs "
            "WHERE encrypted_secrets <> '{}'::jsonb FOR UPDATE"
        ).fetchall():
            if not isinstance(row["encrypted_secrets"], dict):
                result.skipped.append(
                    f"business_configs.encrypted_secrets of business "
                    f"{row['business_id']}: not a JSON object of envelopes"
                )
                continue
            secrets = _rotate_map(
                ring,
                "business_configs",
                "encrypted_secrets",
                row["id"],
                f"business {row['business_id']}",
                row["encrypted_secrets"],
                result,
            )
            if secrets is not None:
                conn.execute(
                    "UPDATE business_configs SET encrypted_secrets = %s WHERE id = %s",
                    (Jsonb(secrets), row["id"]),
                )
        audit.record(
            conn,
            audit.Action.ROTATE_KEYS,
            "customer_configs,business_configs",
            reason,
            metadata={
                "rotated": result.rotated,
                "skipped": len(result.skipped),
                "key_id": ring.current_kid,
            },
        )
    log.info(
        "re-encrypted %d credential values under key %s; skipped %d",
        result.rotated,
        ring.current_kid,
        len(result.skipped),
    )
    return result


def stored_key_ids(conn: Conn) -> dict[str, int]:
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

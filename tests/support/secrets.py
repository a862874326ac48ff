"""Named encrypted secrets as the customer-facing application writes them
(customer_configs.encrypted_credentials, business_configs.encrypted_secrets; the project itself
only rotates and counts them, db/credentials.py), for the rotation and doctor tests."""

from __future__ import annotations

from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from core.crypto import Keyring
from db.credentials import aad, config_id


def set_credential(
    conn: psycopg.Connection, domain: str, name: str, value: str, keyring: Keyring
) -> None:
    """customer_configs.encrypted_credentials[name] = envelope(value)."""
    with conn.transaction():
        row_id = config_id(conn, domain)
        env = keyring.encrypt(value, aad("customer_configs", "encrypted_credentials", row_id, name))
        conn.execute(
            "UPDATE customer_configs SET encrypted_credentials = "
            "COALESCE(encrypted_credentials, '{}'::jsonb) || jsonb_build_object(%s::text, "
            "%s::jsonb) "
            "WHERE id = %s",
            (name, Jsonb(env), row_id),
        )


def get_credential(
    conn: psycopg.Connection, domain: str, name: str, keyring: Keyring
) -> str | None:
    row = conn.execute(
        "SELECT id, encrypted_credentials -> %s AS env FROM customer_configs WHERE domain = %s",
        (name, domain),
    ).fetchone()
    if row is None or row["env"] is None:
        return None
    return keyring.decrypt(
        row["env"], aad("customer_configs", "encrypted_credentials", row["id"], name)
    )


def set_business_secret(
    conn: psycopg.Connection, business_id: UUID | str, name: str, value: str, keyring: Keyring
) -> None:
    """business_configs.encrypted_secrets[name] = envelope(value) (row created if needed)."""
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO business_configs (business_id) VALUES (%s) ON CONFLICT (business_id) "
            "DO UPDATE SET business_id = EXCLUDED.business_id RETURNING id",
            (business_id,),
        ).fetchone()
        env = keyring.encrypt(value, aad("business_configs", "encrypted_secrets", row["id"], name))
        conn.execute(
            "UPDATE business_configs SET encrypted_secrets = encrypted_secrets || "
            "jsonb_build_object(%s::text, %s::jsonb) WHERE id = %s",
            (name, Jsonb(env), row["id"]),
        )


def get_business_secret(
    conn: psycopg.Connection, business_id: UUID | str, name: str, keyring: Keyring
) -> str | None:
    row = conn.execute(
        "SELECT id, encrypted_secrets -> %s AS env FROM business_configs WHERE business_id = %s",
        (name, business_id),
    ).fetchone()
    if row is None or row["env"] is None:
        return None
    return keyring.decrypt(
        row["env"], aad("business_configs", "encrypted_secrets", row["id"], name)
    )

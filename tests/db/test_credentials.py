"""AES-256-GCM envelopes, stored credentials, rotation, and plaintext never reaching the DB/logs."""
# ruff: noqa: E501 - a stored envelope is one JSON line, as the database holds it

from __future__ import annotations

import base64
import json
import logging

import pytest
from psycopg import sql

from core.crypto import (
    Keyring,
    MalformedEnvelope,
    MalformedKey,
    MissingKey,
    WrongKey,
    generate_key,
    key_id,
    load_envelope,
)
from db import credentials, tenants
from tests.support import secrets

WOO_KEY = "ck_live_4b1d2e3f5a6c7d8e9f0a1b2c3d4e5f6a"
WOO_SECRET = "cs_live_9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c"


@pytest.fixture
def keys() -> tuple[str, str]:
    return generate_key(), generate_key()


@pytest.fixture
def shop(db) -> str:
    tenants.add_domain(db, "shop.test")
    return "shop.test"


def _grep_database(db, needle: str) -> list[str]:
    """Every public table whose rows mention `needle` anywhere (any column, as JSON text)."""
    hits = []
    for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall():
        t = sql.Identifier(r["tablename"])
        n = db.execute(
            sql.SQL(
                "SELECT count(*) AS n FROM public.{} x WHERE strpos(to_jsonb(x)::text, %s) > 0"
            ).format(t),
            (needle,),
        ).fetchone()["n"]
        if n:
            hits.append(r["tablename"])
    return hits


# ---------------------------------------------------------------- envelopes
def test_round_trip_and_envelope_shape(keys) -> None:
    ring = Keyring.from_string(keys[0])
    env = ring.encrypt("s3cret", "t.c:1")
    assert set(env) == {"v", "kid", "nonce", "ct"} and env["v"] == 1
    assert env["kid"] == key_id(base64.b64decode(keys[0])) and len(env["kid"]) == 8
    assert len(base64.b64decode(env["nonce"])) == 12
    assert "s3cret" not in json.dumps(env)
    assert ring.decrypt(env, "t.c:1") == "s3cret"
    assert ring.decrypt(json.dumps(env), "t.c:1") == "s3cret"
    assert ring.encrypt("s3cret", "t.c:1")["nonce"] != env["nonce"]  # fresh nonce each time


def test_associated_data_binds_value_to_its_place(keys) -> None:
    ring = Keyring.from_string(keys[0])
    env = ring.encrypt("s3cret", "customer_configs.woocommerce_consumer_key:row-1")
    with pytest.raises(WrongKey, match="failed authentication"):
        ring.decrypt(env, "customer_configs.woocommerce_consumer_key:row-2")


def test_wrong_key_error_names_the_key(keys) -> None:
    env = Keyring.from_string(keys[0]).encrypt("s3cret", "a")
    with pytest.raises(WrongKey) as info:
        Keyring.from_string(keys[1]).decrypt(env, "a")
    assert str(info.value) == (
        f"cannot decrypt: value was encrypted with key {env['kid']}, "
        "which is not in OMNI_ENCRYPTION_KEY"
    )


def test_tampered_ciphertext_is_rejected(keys) -> None:
    ring = Keyring.from_string(keys[0])
    env = ring.encrypt("s3cret", "a")
    ct = bytearray(base64.b64decode(env["ct"]))
    ct[0] ^= 1
    with pytest.raises(WrongKey):
        ring.decrypt({**env, "ct": base64.b64encode(bytes(ct)).decode()}, "a")


@pytest.mark.parametrize(
    "value,error,message",
    [
        (None, MissingKey, "OMNI_ENCRYPTION_KEY is not set"),
        ("", MissingKey, "OMNI_ENCRYPTION_KEY is not set"),
        ("not base64!!", MalformedKey, "entry 1 is not valid base64"),
        (base64.b64encode(b"short").decode(), MalformedKey, "entry 1 is 5 bytes; AES-256 needs 32"),
        (base64.b64encode(b"k" * 32).decode() + ",", MalformedKey, "entry 2 is empty"),
    ],
)
def test_key_configuration_errors(value, error, message) -> None:
    with pytest.raises(error, match=message):
        Keyring.from_string(value)


def test_first_key_encrypts_all_decrypt(keys) -> None:
    old, new = keys
    old_env = Keyring.from_string(old).encrypt("v", "a")
    ring = Keyring.from_string(f"{new}, {old}")
    assert ring.decrypt(old_env, "a") == "v"
    assert ring.encrypt("v", "a")["kid"] == key_id(base64.b64decode(new))
    assert ring.needs_rotation(old_env) and not ring.needs_rotation(ring.encrypt("v", "a"))


@pytest.mark.parametrize(
    "stored", ["plaintext-secret", "{}", '{"v": 2, "kid": "x", "nonce": "", "ct": ""}']
)
def test_non_envelopes_are_rejected(stored) -> None:
    with pytest.raises(MalformedEnvelope):
        load_envelope(stored)


# ---------------------------------------------------------------- stored credentials
def test_woocommerce_credentials_stored_encrypted(db, shop, keys, caplog) -> None:
    ring = Keyring.from_string(keys[0])
    caplog.set_level(logging.DEBUG)
    credentials.set_woocommerce(
        db, shop, WOO_KEY, WOO_SECRET, url="https://shop.test", keyring=ring
    )
    secrets.set_credential(db, shop, "stripe", "sk_test_plain_value", keyring=ring)
    got = credentials.get_woocommerce(db, shop, keyring=ring)
    assert (got.consumer_key, got.consumer_secret, got.url) == (
        WOO_KEY,
        WOO_SECRET,
        "https://shop.test",
    )
    assert WOO_KEY not in repr(got)
    assert secrets.get_credential(db, shop, "stripe", keyring=ring) == "sk_test_plain_value"
    row = db.execute("SELECT * FROM customer_configs WHERE domain = %s", (shop,)).fetchone()
    assert load_envelope(row["woocommerce_consumer_key"])["kid"] == ring.current_kid
    assert load_envelope(row["woocommerce_consumer_secret"])["kid"] == ring.current_kid
    assert load_envelope(row["encrypted_credentials"]["stripe"])["kid"] == ring.current_kid
    for plain in (WOO_KEY, WOO_SECRET, "sk_test_plain_value"):
        assert _grep_database(db, plain) == []
        assert plain not in caplog.text
    assert "stored WooCommerce credentials" in caplog.text  # logging did happen


def test_credential_cannot_be_moved_between_rows(db, keys) -> None:
    ring = Keyring.from_string(keys[0])
    for d in ("a.test", "b.test"):
        tenants.add_domain(db, d)
        credentials.set_woocommerce(db, d, f"key-{d}", f"secret-{d}", keyring=ring)
    db.execute(
        "UPDATE customer_configs SET woocommerce_consumer_key = "
        "(SELECT woocommerce_consumer_key FROM customer_configs WHERE domain = 'a.test') "
        "WHERE domain = 'b.test'"
    )
    with pytest.raises(WrongKey, match="failed authentication"):
        credentials.get_woocommerce(db, "b.test", keyring=ring)


def test_unknown_domain_is_a_clear_error(db, keys) -> None:
    with pytest.raises(Exception, match="no domain 'nowhere.test'"):
        credentials.set_woocommerce(
            db, "nowhere.test", "k", "s", keyring=Keyring.from_string(keys[0])
        )


def test_business_secrets(db, keys) -> None:
    ring = Keyring.from_string(keys[0])
    business = db.execute("INSERT INTO businesses (name) VALUES ('B') RETURNING id").fetchone()[
        "id"
    ]
    secrets.set_business_secret(db, business, "openai", "sk-business-secret", keyring=ring)
    secrets.set_business_secret(db, business, "smtp", "smtp-pass", keyring=ring)
    assert secrets.get_business_secret(db, business, "openai", keyring=ring) == "sk-business-secret"
    assert secrets.get_business_secret(db, business, "missing", keyring=ring) is None
    assert _grep_database(db, "sk-business-secret") == []


def test_rotation(db, shop, keys, caplog) -> None:
    old, new = keys
    old_ring = Keyring.from_string(old)
    credentials.set_woocommerce(db, shop, WOO_KEY, WOO_SECRET, keyring=old_ring)
    secrets.set_credential(db, shop, "stripe", "sk_stripe", keyring=old_ring)
    business = db.execute("INSERT INTO businesses (name) VALUES ('B') RETURNING id").fetchone()[
        "id"
    ]
    secrets.set_business_secret(db, business, "openai", "sk_openai", keyring=old_ring)

    caplog.set_level(logging.DEBUG)
    both = Keyring.from_string(f"{new},{old}")  # new key first, old kept to read
    assert credentials.rotate(db, both) == credentials.RotationResult(4, [])
    assert credentials.rotate(db, both).rotated == 0  # nothing left under the old key

    only_new = Keyring.from_string(new)
    got = credentials.get_woocommerce(db, shop, keyring=only_new)
    assert (got.consumer_key, got.consumer_secret) == (WOO_KEY, WOO_SECRET)
    assert secrets.get_credential(db, shop, "stripe", keyring=only_new) == "sk_stripe"
    assert secrets.get_business_secret(db, business, "openai", keyring=only_new) == "sk_openai"
    row = db.execute("SELECT * FROM customer_configs WHERE domain = %s", (shop,)).fetchone()
    kids = {
        load_envelope(row["woocommerce_consumer_key"])["kid"],
        load_envelope(row["woocommerce_consumer_secret"])["kid"],
        row["encrypted_credentials"]["stripe"]["kid"],
    }
    assert kids == {only_new.current_kid}
    with pytest.raises(WrongKey):
        credentials.get_woocommerce(db, shop, keyring=old_ring)
    for plain in (WOO_KEY, WOO_SECRET, "sk_stripe", "sk_openai"):
        assert plain not in caplog.text and _grep_database(db, plain) == []


@pytest.mark.parametrize(
    "bad,reason",
    [
        ("'legacy-plaintext'", "not an encryption envelope"),
        (
            """'{"v": 1, "kid": "ffffffff", "nonce": "AAAAAAAAAAAAAAAA", "ct": "AAAAAAAAAAAAAAAAAAAAAA=="}'""",
            "which is not in OMNI_ENCRYPTION_KEY",
        ),
    ],
)
def test_rotation_skips_and_reports_unreadable_values(db, keys, bad, reason) -> None:
    """One tenant's unreadable value (plaintext, unknown key id) no longer blocks rotation for
    everyone: it is skipped and named (table, column, domain), the rest is rotated."""
    old, new = keys
    old_ring = Keyring.from_string(old)
    for d in ("a.test", "b.test"):
        tenants.add_domain(db, d)
        credentials.set_woocommerce(db, d, "k", "s", keyring=old_ring)
    db.execute(
        f"UPDATE customer_configs SET woocommerce_consumer_secret = {bad} WHERE domain = 'b.test'"
    )
    both = Keyring.from_string(f"{new},{old}")
    result = credentials.rotate(db, both)
    assert result.rotated == 3
    assert len(result.skipped) == 1
    assert result.skipped[0].startswith(
        "customer_configs.woocommerce_consumer_secret of domain b.test: "
    )
    assert reason in result.skipped[0]
    assert (
        credentials.get_woocommerce(db, "a.test", keyring=Keyring.from_string(new)).consumer_key
        == "k"
    )
    row = db.execute(
        "SELECT woocommerce_consumer_key FROM customer_configs WHERE domain = 'b.test'"
    ).fetchone()
    assert load_envelope(row["woocommerce_consumer_key"])["kid"] == both.current_kid


def test_rotation_without_the_old_key_skips_everything(db, shop, keys) -> None:
    credentials.set_woocommerce(db, shop, "k", "s", keyring=Keyring.from_string(keys[0]))
    result = credentials.rotate(db, Keyring.from_string(keys[1]))
    assert result.rotated == 0 and len(result.skipped) == 2
    assert all("which is not in OMNI_ENCRYPTION_KEY" in line for line in result.skipped)


# ---------------------------------------------------------------- CLI
def test_cli_secrets(db, shop, omni_cli, keys) -> None:
    old, new = keys
    generated = omni_cli("secrets", "generate-key")
    assert generated.returncode == 0
    assert len(base64.b64decode(generated.stdout.strip())) == 32

    debug = {"OMNI_LOG_LEVEL": "DEBUG"}
    stored = omni_cli(
        "secrets",
        "set-woocommerce",
        "https://shop.test/",
        "--key",
        WOO_KEY,
        "--url",
        "https://shop.test",
        input=WOO_SECRET + "\n",
        env={"OMNI_ENCRYPTION_KEY": old, **debug},
    )
    assert stored.returncode == 0, stored.stderr
    assert (
        f"stored WooCommerce credentials for shop.test (key {Keyring.from_string(old).current_kid})"
        in stored.stdout
    )
    for plain in (WOO_KEY, WOO_SECRET):
        assert plain not in stored.stdout + stored.stderr
        assert _grep_database(db, plain) == []
    got = credentials.get_woocommerce(db, shop, keyring=Keyring.from_string(old))
    assert (got.consumer_key, got.consumer_secret) == (WOO_KEY, WOO_SECRET)

    rotated = omni_cli("secrets", "rotate", env={"OMNI_ENCRYPTION_KEY": f"{new},{old}", **debug})
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted 2 value(s)" in rotated.stdout
    assert WOO_SECRET not in rotated.stdout + rotated.stderr
    got = credentials.get_woocommerce(db, shop, keyring=Keyring.from_string(new))
    assert got.consumer_secret == WOO_SECRET


@pytest.mark.parametrize(
    "env_key,message",
    [
        (None, "error: OMNI_ENCRYPTION_KEY is not set"),
        ("bm90LWEta2V5", "error: OMNI_ENCRYPTION_KEY entry 1 is 9 bytes; AES-256 needs 32"),
    ],
)
def test_cli_key_errors(db, shop, omni_cli, env_key, message) -> None:
    env = {"OMNI_ENCRYPTION_KEY": env_key} if env_key else {}
    result = omni_cli(
        "secrets", "set-woocommerce", "shop.test", "--key", "k", "--secret", "s", env=env
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message)


def test_cli_rotate_wrong_key(db, shop, omni_cli, keys) -> None:
    credentials.set_woocommerce(db, shop, "k", "s", keyring=Keyring.from_string(keys[0]))
    result = omni_cli("secrets", "rotate", env={"OMNI_ENCRYPTION_KEY": keys[1]})
    assert result.returncode == 1
    kid = Keyring.from_string(keys[0]).current_kid
    assert (
        f"skipped customer_configs.woocommerce_consumer_key of domain shop.test: cannot decrypt: "
        f"value was encrypted with key {kid}, which is not in OMNI_ENCRYPTION_KEY"
    ) in result.stdout
    assert result.stderr.strip().splitlines()[-1] == (
        "error: re-encrypted 0 value(s); 2 value(s) could not be read and were skipped (listed "
        "above)"
    )

"""AES-256-GCM envelopes for credentials stored in the database.

OMNI_ENCRYPTION_KEY is a comma-separated list of base64 32-byte keys: the first encrypts, all of
them decrypt (so values written under an older key stay readable until `omni secrets rotate`).
A stored value is the JSON envelope {"v": 1, "kid": ..., "nonce": b64, "ct": b64}; kid is the
first 8 hex characters of sha256(key), so the envelope says which key it needs. The associated
data (e.g. "customer_configs.woocommerce_consumer_key:<row id>") binds a ciphertext to its
place: copied to another row or column it no longer decrypts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.config import get_settings
from core.errors import OmniError

ENVELOPE_VERSION = 1
_NONCE_BYTES = 12


class CryptoError(OmniError):
    """Encryption is misconfigured or a value cannot be decrypted."""


class MissingKey(CryptoError):
    pass


class MalformedKey(CryptoError):
    pass


class WrongKey(CryptoError):
    pass


class MalformedEnvelope(CryptoError):
    pass


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def generate_key() -> str:
    """A new random key, base64 (what goes into OMNI_ENCRYPTION_KEY)."""
    return base64.b64encode(os.urandom(32)).decode()


def parse_keys(value: str | None) -> list[bytes]:
    """OMNI_ENCRYPTION_KEY -> keys, first = current. Errors never include key material."""
    if value is None or not value.strip():
        raise MissingKey(
            "OMNI_ENCRYPTION_KEY is not set; create one with `omni secrets generate-key`"
        )
    keys = []
    for position, item in enumerate((part.strip() for part in value.split(",")), start=1):
        if not item:
            raise MalformedKey(f"OMNI_ENCRYPTION_KEY entry {position} is empty")
        try:
            key = base64.b64decode(item, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedKey(
                f"OMNI_ENCRYPTION_KEY entry {position} is not valid base64"
            ) from None
        if len(key) != 32:
            raise MalformedKey(
                f"OMNI_ENCRYPTION_KEY entry {position} is {len(key)} bytes; AES-256 needs 32"
            )
        keys.append(key)
    return keys


@dataclass(frozen=True)
class Keyring:
    keys: tuple[bytes, ...]

    @classmethod
    def from_string(cls, value: str | None) -> Keyring:
        return cls(tuple(parse_keys(value)))

    @classmethod
    def from_settings(cls) -> Keyring:
        secret = get_settings().encryption_key
        return cls.from_string(secret.get_secret_value() if secret else None)

    @property
    def current_kid(self) -> str:
        return key_id(self.keys[0])

    @property
    def kids(self) -> list[str]:
        return [key_id(k) for k in self.keys]

    def encrypt(self, plaintext: str, aad: str) -> dict[str, Any]:
        nonce = os.urandom(_NONCE_BYTES)
        ct = AESGCM(self.keys[0]).encrypt(nonce, plaintext.encode(), aad.encode())
        return {
            "v": ENVELOPE_VERSION,
            "kid": self.current_kid,
            "nonce": base64.b64encode(nonce).decode(),
            "ct": base64.b64encode(ct).decode(),
        }

    def decrypt(self, envelope: dict[str, Any] | str, aad: str) -> str:
        env = load_envelope(envelope)
        by_kid = {key_id(k): k for k in self.keys}
        key = by_kid.get(env["kid"])
        if key is None:
            raise WrongKey(
                f"cannot decrypt: value was encrypted with key {env['kid']}, "
                "which is not in OMNI_ENCRYPTION_KEY"
            )
        try:
            plaintext = AESGCM(key).decrypt(
                base64.b64decode(env["nonce"]), base64.b64decode(env["ct"]), aad.encode()
            )
        except InvalidTag:
            raise WrongKey(
                f"cannot decrypt: value under key {env['kid']} failed authentication "
                "(tampered, or stored for another row/column)"
            ) from None
        return plaintext.decode()

    def needs_rotation(self, envelope: dict[str, Any] | str) -> bool:
        return load_envelope(envelope)["kid"] != self.current_kid


def load_envelope(value: dict[str, Any] | str) -> dict[str, Any]:
    """Parse and check an envelope (a dict, or its JSON text as stored in TEXT columns)."""
    env = value
    if isinstance(value, str):
        try:
            env = json.loads(value)
        except json.JSONDecodeError:
            raise MalformedEnvelope(
                "stored value is not an encryption envelope (plaintext?)"
            ) from None
    if (
        not isinstance(env, dict)
        or env.get("v") != ENVELOPE_VERSION
        or not all(isinstance(env.get(k), str) for k in ("kid", "nonce", "ct"))
    ):
        raise MalformedEnvelope("stored value is not a version-1 encryption envelope")
    return env


def dumps(envelope: dict[str, Any]) -> str:
    """The envelope as compact JSON text (for TEXT columns)."""
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True)

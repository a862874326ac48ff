"""Proof that a tenant controls a domain: its claim token served at
`/.well-known/omni-ingest-verification.txt` (docs/security.md#claiming-a-domain).

The fetch is under the crawler's address rule (`crawlers.pinned_http`): the host is resolved,
every address checked, and the connection made to the checked address (pinned: no second DNS
answer), with the host name in the Host header and TLS SNI. Redirects are not followed (the
file must be on the domain itself); the body is capped.
"""

from __future__ import annotations

import http.client
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from crawlers import pinned_http
from crawlers.address_policy import AddressPolicy, Blocked

WELL_KNOWN_PATH = "/.well-known/omni-ingest-verification.txt"
MAX_BODY = 64 * 1024
TIMEOUT = 10.0


class VerificationError(Exception):
    pass


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int


def targets(domain: str) -> list[Target]:
    """Where to look, in order: https then http (http only for IP literals and localhost, as
    the crawler does). `domain` is canonical (core.domains.normalize_domain)."""
    parts = urlsplit("http://" + domain)
    host = parts.hostname or ""
    plain_only = host == "localhost" or _is_ip(host)
    schemes = ("http",) if plain_only else ("https", "http")
    return [Target(s, host, parts.port or (443 if s == "https" else 80)) for s in schemes]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def token_found(body: str, token: str) -> bool:
    """The token on a line of its own (surrounding spaces ignored)."""
    return any(line.strip() == token for line in body.splitlines())


def fetch(target: Target, policy: AddressPolicy) -> str:
    """The well-known file's text, fetched from a checked, pinned address."""
    port = "" if target.port == (443 if target.scheme == "https" else 80) else f":{target.port}"
    host = f"[{target.host}]" if ":" in target.host else target.host
    url = f"{target.scheme}://{host}{port}{WELL_KNOWN_PATH}"
    try:
        answer = pinned_http.request(
            policy,
            "GET",
            url,
            {"User-Agent": "OmniIngestBot-verify"},
            timeout=TIMEOUT,
            max_bytes=MAX_BODY,
        )
    except Blocked as exc:
        raise VerificationError(str(exc)) from None
    except (OSError, http.client.HTTPException) as exc:
        raise VerificationError(f"{url}: {exc}") from exc
    if answer.status != 200:
        raise VerificationError(f"{url} answered {answer.status}")
    return answer.body.decode("utf-8", "replace")


def fetch_proof(domain: str, policy: AddressPolicy) -> str:
    """The file's text from the first place that serves it; the last error otherwise."""
    errors = []
    for target in targets(domain):
        try:
            return fetch(target, policy)
        except VerificationError as exc:
            errors.append(str(exc))
    raise VerificationError("; ".join(errors))

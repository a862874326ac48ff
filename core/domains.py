"""What a "domain" is: the URL's host in ONE canonical form, with the port when it is not the
scheme's default.

Canonical form (docs/security.md#domain-names): NFKC, then IDNA 2008 with UTS-46 mapping to
A-labels (`Bücher.example` and `xn--bcher-kva.example` are the same domain; fullwidth `ｂ.test`
is `b.test`), lower-case, no trailing dot. Control characters, over-long names and labels, and
characters a host cannot have are an `InvalidDomain` with the reason.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from urllib.parse import urlsplit

import idna

from core.errors import InvalidValue

_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_INPUT = 2048  # a URL longer than this is not worth parsing
MAX_HOST = 253  # RFC 1035, without the trailing dot
MAX_LABEL = 63
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})  # UTS-46 label separators


class InvalidDomain(InvalidValue):
    pass


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in text)


def canonical_host(host: str) -> str:
    """A host name (no port) in canonical form; IP literals are kept as they are."""
    host = unicodedata.normalize("NFKC", host).translate(_DOTS).rstrip(".").lower()
    if not host:
        raise InvalidDomain("empty host name")
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        pass
    if len(host) > MAX_HOST * 4:
        raise InvalidDomain(f"host name is longer than {MAX_HOST} characters")
    try:
        ascii_host = idna.encode(host, uts46=True, transitional=False).decode("ascii")
    except idna.IDNAError as exc:
        raise InvalidDomain(f"not a valid host name: {exc}") from None
    if len(ascii_host) > MAX_HOST:
        raise InvalidDomain(f"host name is longer than {MAX_HOST} characters")
    if any(len(label) > MAX_LABEL for label in ascii_host.split(".")):
        raise InvalidDomain(f"a label of the host name is longer than {MAX_LABEL} characters")
    return ascii_host


def normalize_domain(value: str) -> str:
    """`https://Shop.Example.com:443/x` -> `shop.example.com`; `127.0.0.1:8931` stays as it is."""
    if len(value) > MAX_INPUT:
        raise InvalidDomain(f"domain or URL is longer than {MAX_INPUT} characters")
    if _has_control(value):
        raise InvalidDomain("domain or URL contains a control or unassigned character")
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        raise InvalidDomain("empty domain")
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        raw = parts.hostname or ""
    except ValueError as exc:  # e.g. an unclosed or invalid IPv6 literal
        raise InvalidDomain(f"not a domain or URL: {value!r:.100} ({exc})") from exc
    if not raw or " " in raw or parts.scheme.lower() not in _DEFAULT_PORTS:
        raise InvalidDomain(f"not a domain or URL: {value!r:.100}")
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidDomain(f"bad port in {value!r:.100}") from exc
    if ":" in raw:  # IPv6 literal
        try:
            host = f"[{ipaddress.IPv6Address(raw.split('%')[0])}]"
        except ValueError as exc:
            raise InvalidDomain(f"not a domain or URL: {value!r:.100} ({exc})") from exc
    else:
        host = canonical_host(raw)
    if port is None or port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        return host
    return f"{host}:{port}"


def same_site(host_a: str, host_b: str) -> bool:
    """`www.` counts as the same site."""
    return host_a.removeprefix("www.") == host_b.removeprefix("www.")

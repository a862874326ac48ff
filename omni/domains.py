"""What a "domain" is: the URL's host, lower-case, with the port when it is not the default."""

from __future__ import annotations

from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidDomain(ValueError):
    pass


def normalize_domain(value: str) -> str:
    """`https://Shop.Example.com:443/x` -> `shop.example.com`; `127.0.0.1:8931` stays as it is."""
    text = value.strip()
    if not text:
        raise InvalidDomain("empty domain")
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").rstrip(".")
    except ValueError as exc:  # e.g. an unclosed or invalid IPv6 literal
        raise InvalidDomain(f"not a domain or URL: {value!r} ({exc})") from exc
    if not host or " " in host:
        raise InvalidDomain(f"not a domain or URL: {value!r}")
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidDomain(f"bad port in {value!r}") from exc
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        return host
    return f"{host}:{port}"


def same_site(host_a: str, host_b: str) -> bool:
    """`www.` counts as the same site."""
    return host_a.removeprefix("www.") == host_b.removeprefix("www.")

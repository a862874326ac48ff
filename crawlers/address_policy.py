"""Which URLs the crawler, and the browser it drives, may connect to (the SSRF rule, in one place).

A URL is allowed when its scheme is http(s) or ws(s) and every address its host resolves to is
public; `data:`, `blob:` and `about:` never leave the browser. OMNI_ALLOW_PRIVATE_NETWORKS=1
turns the address check off; OMNI_ALLOWED_PRIVATE_HOSTS names exact `host:port` pairs that may
be private while the check stays on for everything else (a local test site, an intranet shop).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from scrapy.settings import BaseSettings

LOCAL_SCHEMES = ("data", "blob", "about")
NETWORK_SCHEMES = {"http": 80, "https": 443, "ws": 80, "wss": 443}

Resolver = Callable[[str], list[str]]


class Blocked(Exception):
    """A URL or host the rule refuses; the message is the `blocked: ...` reason."""


def blocked_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def resolve(host: str) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class AddressPolicy:
    allow_private: bool = False
    allowed_hosts: frozenset[str] = frozenset()  # "host:port", exempt from the address check

    @classmethod
    def from_settings(cls, settings: object) -> AddressPolicy:
        return cls(
            bool(getattr(settings, "allow_private_networks", False)),
            frozenset(getattr(settings, "allowed_private_hosts", frozenset())),
        )

    @classmethod
    def from_crawler_settings(cls, settings: BaseSettings) -> AddressPolicy:
        """From Scrapy's settings (OMNI_ALLOW_PRIVATE_NETWORKS, OMNI_ALLOWED_PRIVATE_HOSTS: a
        list, or a comma-separated string from `-s`)."""
        hosts = settings.getlist("OMNI_ALLOWED_PRIVATE_HOSTS")
        return cls(
            settings.getbool("OMNI_ALLOW_PRIVATE_NETWORKS"),
            frozenset(h.strip().lower() for h in hosts if h.strip()),
        )

    def exempt(self, host: str, port: int) -> bool:
        return self.allow_private or host_port(host, port) in self.allowed_hosts

    def pin(self, host: str, port: int, resolver: Resolver = resolve) -> str:
        """Resolve once, check every address, and return the one to connect to (so a second
        DNS answer can never be used); raises Blocked with the reason."""
        host = host.strip("[]").lower()
        try:
            addresses = resolver(host)
        except OSError:
            addresses = []
        if not addresses:
            raise Blocked(f"blocked: {host} does not resolve")
        if not self.exempt(host, port):
            for address in addresses:
                if blocked_address(address):
                    raise Blocked(f"blocked: {host} resolves to non-public address {address}")
        return addresses[0]

    def check_host(self, host: str, port: int, resolver: Resolver = resolve) -> str | None:
        """None when `host` may be connected to; else the reason (`blocked: ...`)."""
        if self.exempt(host.strip("[]").lower(), port):
            return None
        try:
            self.pin(host, port, resolver)
        except Blocked as exc:
            return str(exc)
        return None

    def check_url(self, url: str, resolver: Resolver = resolve) -> str | None:
        try:
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme in LOCAL_SCHEMES:
                return None
            if scheme not in NETWORK_SCHEMES:
                return f"blocked: scheme {scheme or '(none)'} is not fetched"
            host = parts.hostname or ""
            port = parts.port or NETWORK_SCHEMES[scheme]
        except ValueError:
            return f"blocked: not a valid URL: {url[:200]}"
        if not host:
            return f"blocked: no host in {url[:200]}"
        return self.check_host(host, port, resolver)

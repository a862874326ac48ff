"""SSRF guard: refuse hosts that resolve to private, loopback, link-local or otherwise
non-public addresses, unless OMNI_ALLOW_PRIVATE_NETWORKS=1.

Checked on every request, redirects included, before it is sent (a clear `blocked: ...`
reason). The check does its own lookup; a DNS answer that changes before the connection is
made (DNS rebinding) is refused by `crawlers.resolver`, which checks the address the connection
uses.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.httpobj import urlparse_cached

from omni.config import get_settings


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
    return sorted({info[4][0] for info in infos})


class SsrfGuardMiddleware:
    def __init__(self) -> None:
        self._verdicts: dict[str, str | None] = {}

    @classmethod
    def from_crawler(cls, crawler: Any) -> SsrfGuardMiddleware:
        if get_settings().allow_private_networks:
            raise NotConfigured("OMNI_ALLOW_PRIVATE_NETWORKS is set")
        return cls()

    async def process_request(self, request: Any) -> None:
        host = (urlparse_cached(request).hostname or "").strip("[]")
        if host not in self._verdicts:
            self._verdicts[host] = await asyncio.to_thread(self._check, host)
        if (reason := self._verdicts[host]) is not None:
            raise IgnoreRequest(reason)

    @staticmethod
    def _check(host: str) -> str | None:
        try:
            addresses = resolve(host)
        except OSError:
            return None  # unresolvable: the download itself fails with a DNS error
        for address in addresses:
            if blocked_address(address):
                return f"blocked: {host} resolves to non-public address {address}"
        return None

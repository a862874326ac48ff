"""One HTTP/1.1 request to an address checked by `AddressPolicy.pin` (resolve, check, connect to
that very address; the host name goes in the Host header and TLS SNI, and the certificate is
verified for it). Used for the browser's requests and for domain verification, so neither can be
turned to another address by a second DNS answer."""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from crawlers.address_policy import NETWORK_SCHEMES, AddressPolicy, Blocked, Resolver, resolve

# Not forwarded: connection-level headers, and encodings (the body is asked for as identity).
_DROP_REQUEST = {
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "upgrade",
    "accept-encoding",
    "content-length",
    "transfer-encoding",
}
_DROP_RESPONSE = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "proxy-connection",
}


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, address: str, host: str, port: int, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def request(
    policy: AddressPolicy,
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    *,
    timeout: float = 30.0,
    max_bytes: int = 10 * 1024 * 1024,
    resolver: Resolver = resolve,
) -> Answer:
    """Send one request (no redirects followed); raises Blocked, OSError or HTTPException."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Blocked(f"blocked: scheme {scheme or '(none)'} is not fetched")
    host = (parts.hostname or "").lower()
    port = parts.port or NETWORK_SCHEMES[scheme]
    address = policy.pin(host, port, resolver)  # the only DNS look-up of this request
    if scheme == "https":
        conn: http.client.HTTPConnection = _PinnedHTTPS(address, host, port, timeout)
    else:
        conn = http.client.HTTPConnection(address, port, timeout=timeout)
    netloc = f"[{host}]" if ":" in host else host
    if parts.port and parts.port != NETWORK_SCHEMES[scheme]:
        netloc += f":{parts.port}"
    sent = {k: v for k, v in (headers or {}).items() if k.lower() not in _DROP_REQUEST}
    sent.update({"Host": netloc, "Accept-Encoding": "identity", "Connection": "close"})
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        data = response.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise http.client.HTTPException(f"response larger than {max_bytes} bytes")
        kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _DROP_RESPONSE]
        return Answer(response.status, kept, data)
    finally:
        conn.close()

"""Browser-facing guards of the dashboard (docs/security.md#dashboard).

- `allowed_hosts` / `HostCheck`: a request's Host must be the bind address, a loopback name,
  or a name in OMNI_DASHBOARD_HOSTS; anything else is a 421. A page on another site cannot use
  DNS rebinding (its own name pointed at 127.0.0.1) to read a loopback-bound dashboard.
- `SecurityHeaders`: X-Frame-Options DENY, a CSP allowing only this origin's scripts,
  nosniff and a same-origin referrer policy (no-referrer would make the browser send
  `Origin: null` on the retry form, which the same-origin check refuses), on every response.
- `check_token`: a token is at least MIN_TOKEN non-blank characters.
"""

from __future__ import annotations

import ipaddress

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import OmniError

MIN_TOKEN = 16
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_BINDS = frozenset({"0.0.0.0", "::", ""})
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


def check_token(token: str | None) -> str | None:
    """The token to require (None when none is set); a blank or short one is refused."""
    if token is None:
        return None
    if len("".join(token.split())) < MIN_TOKEN or token != token.strip():
        raise OmniError(
            f"OMNI_DASHBOARD_TOKEN must be at least {MIN_TOKEN} non-blank characters "
            "with no surrounding spaces (`omni secrets generate-key` makes one)"
        )
    return token


def host_name(header: str) -> str:
    """`Example.com:8000` -> `example.com`; `[::1]:8000` -> `::1`."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def allowed_hosts(bind_host: str, names: frozenset[str] | set[str] = frozenset()) -> frozenset[str]:
    bind = host_name(bind_host) if bind_host not in WILDCARD_BINDS else ""
    return frozenset({*LOOPBACK_NAMES, *(host_name(n) for n in names), *([bind] if bind else [])})


def host_allowed(header: str | None, bind_host: str, allowed: frozenset[str]) -> bool:
    if not header:
        return False
    name = host_name(header)
    if name in allowed:
        return True
    if bind_host in WILDCARD_BINDS:  # reachable on every address: an IP literal is fine
        try:
            ipaddress.ip_address(name)
            return True
        except ValueError:
            return False
    return False


class HostCheck:
    def __init__(self, app: ASGIApp, bind_host: str, names: frozenset[str] = frozenset()) -> None:
        self.app, self.bind_host = app, bind_host
        self.allowed = allowed_hosts(bind_host, names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
            if not host_allowed(host, self.bind_host, self.allowed):
                response = PlainTextResponse(
                    "421: this dashboard does not answer to that Host (see OMNI_DASHBOARD_HOSTS)",
                    status_code=421,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *(h for h in HEADERS if h[0] not in present),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)

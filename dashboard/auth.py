"""Access control: open on a loopback bind; anything else requires OMNI_DASHBOARD_TOKEN,
given as `Authorization: Bearer <token>`, basic auth (any user, the token as password), or
once as `?token=<token>` (which sets a cookie and redirects to the same URL without it)."""

from __future__ import annotations

import base64
import hmac
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "omni_dashboard_token"
OPEN_PATHS = ("/healthz", "/static/")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def is_local_bind(host: str) -> bool:
    return host.strip().lower() in LOCAL_HOSTS or host.startswith("127.")


def presented_tokens(request: Request) -> list[str]:
    tokens = []
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        tokens.append(value.strip())
    elif scheme.lower() == "basic" and value:
        try:
            _, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
            tokens.append(password)
        except (ValueError, UnicodeDecodeError):
            pass
    if request.cookies.get(COOKIE):
        tokens.append(request.cookies[COOKIE])
    return tokens


def token_matches(candidate: str, token: str) -> bool:
    return hmac.compare_digest(candidate.encode(), token.encode())


class TokenAuth:
    def __init__(self, app: ASGIApp, token: str) -> None:
        if not token:
            raise ValueError("TokenAuth needs a non-empty token")
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        response = self._check(request)
        if response is None:
            await self.app(scope, receive, send)
        else:
            await response(scope, receive, send)

    def _check(self, request: Request) -> Response | None:
        if any(token_matches(t, self.token) for t in presented_tokens(request)):
            return None
        query_token = request.query_params.get("token")
        if query_token is not None and token_matches(query_token, self.token):
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = request.url.path + ("?" + urlencode(rest) if rest else "")
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(
                COOKIE,
                self.token,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
            return response
        return PlainTextResponse(
            "authentication required: a dashboard token (see docs/operations.md)",
            status_code=401,
            headers={"WWW-Authenticate": 'Basic realm="omni dashboard"'},
        )


def same_origin(request: Request) -> bool:
    """For POSTs: a browser's Origin (when sent) must be this host (a cross-site form cannot
    retry jobs with the user's cookie)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")

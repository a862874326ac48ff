"""The retrieval API's ASGI app: `POST /v1/search` and `GET /healthz`.

A request carries a customer's API key (`Authorization: Bearer omni_...`); its search runs in one
transaction as that customer (role `authenticated` with the customer's auth user in
`request.jwt.claims`), so the same RLS policies as SQL decide what it can read: another tenant's
domain is simply not there. CORS answers the origins of the customer's `allowed_origins`; a token
bucket per key in Redis enforces `rate_limit` (requests per minute). The embedding model is loaded
once, when the server starts."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.config import Settings
from core.errors import InvalidValue, NotFound
from dashboard.app import Backend  # the same pool and Redis a dashboard process uses
from db import api_keys
from db.api_keys import KeyOwner
from db.connection import Conn
from interfaces.serve import MAX_K
from interfaces.serve.ratelimit import RateLimiter
from workers.embedding import backend_for_model
from workers.search import page_facts, search

log = logging.getLogger(__name__)
ALLOWED_METHODS = "POST, OPTIONS"
ALLOWED_HEADERS = "authorization, content-type"
PREFLIGHT_MAX_AGE = "600"


@dataclass(frozen=True)
class Caller:
    owner: KeyOwner | None  # None: the operator (the token in the server's serve file)


def allow_origin(origin: str | None, allowed: set[str] | tuple[str, ...]) -> bool:
    return bool(origin) and ("*" in allowed or origin in allowed)


def cors_headers(origin: str | None, allowed: set[str] | tuple[str, ...]) -> dict[str, str]:
    """The origin echoed (never '*': the request carries an Authorization header) when allowed;
    nothing otherwise, so the browser refuses to hand the answer to the page."""
    if not allow_origin(origin, allowed):
        return {"Vary": "Origin"}
    return {"Access-Control-Allow-Origin": str(origin), "Vary": "Origin"}


def parse_search(body: Any) -> dict[str, Any]:
    """The search request's fields, checked; InvalidValue names the bad one."""
    if not isinstance(body, dict):
        raise InvalidValue("the body must be a JSON object")
    domain, query = body.get("domain"), body.get("query")
    k, hybrid = body.get("k", 5), body.get("hybrid", False)
    if not isinstance(domain, str) or not domain.strip():
        raise InvalidValue("domain must be a non-empty string")
    if not isinstance(query, str) or not query.strip():
        raise InvalidValue("query must be a non-empty string")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidValue(f"k must be an integer from 1 to {MAX_K}")
    if not isinstance(hybrid, bool):
        raise InvalidValue("hybrid must be true or false")
    return {"domain": domain.strip(), "query": query, "k": k, "hybrid": hybrid}


def bearer(request: Request) -> str:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


@contextmanager
def as_customer(conn: Conn, owner: KeyOwner | None) -> Iterator[Conn]:
    """One transaction under the caller's identity (the operator keeps the service's own)."""
    with conn.transaction():
        if owner is not None:
            conn.execute("SET LOCAL ROLE authenticated")
            conn.execute(
                "SELECT set_config('request.jwt.claims', %s, true)",
                (json.dumps({"sub": str(owner.auth_user_id), "role": "authenticated"}),),
            )
        yield conn


def create_app(
    settings: Settings, operator_token: str | None = None, backend: Backend | None = None
) -> Starlette:
    backend = backend or Backend()
    limiter: list[RateLimiter] = []

    def rate_limiter() -> RateLimiter:
        if not limiter:
            limiter.append(RateLimiter(backend.redis()))
        return limiter[0]

    def identify(key: str) -> Caller | None:
        if operator_token and hmac.compare_digest(key.encode(), operator_token.encode()):
            return Caller(None)
        with backend.connection() as conn:
            owner = api_keys.owner(conn, key)
            if owner is not None:
                api_keys.touch(conn, owner.key_id)
                conn.commit()
        return Caller(owner) if owner else None

    def run_search(owner: KeyOwner | None, params: dict[str, Any]) -> list[dict[str, Any]]:
        with backend.connection() as conn, as_customer(conn, owner):
            results = search(
                conn,
                params["query"],
                params["domain"],
                params["k"],
                params["hybrid"],
                settings=settings,
            )
            facts = page_facts(conn, params["domain"], [r["url"] for r in results])
        for item in results:
            item["score"] = item.get("score", item["similarity"])
            item["facts"] = facts.get(item["url"], [])
        return results

    def preflight_origins() -> set[str]:
        with backend.connection() as conn:
            return api_keys.known_origins(conn)

    async def search_endpoint(request: Request) -> Response:
        origin = request.headers.get("origin")
        if request.method == "OPTIONS":
            allowed = await run_in_threadpool(preflight_origins)
            headers = cors_headers(origin, allowed)
            if "Access-Control-Allow-Origin" in headers:
                headers.update(
                    {
                        "Access-Control-Allow-Methods": ALLOWED_METHODS,
                        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                        "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
                    }
                )
            return Response(status_code=204, headers=headers)
        key = bearer(request)
        caller = await run_in_threadpool(identify, key) if key else None
        if caller is None:
            return JSONResponse(
                {"error": "a valid API key is required (Authorization: Bearer ...)"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="omni"'},
            )
        owner = caller.owner
        headers = cors_headers(origin, owner.allowed_origins) if owner else {}
        if owner is not None:
            decision = await run_in_threadpool(rate_limiter().take, owner.key_id, owner.rate_limit)
            if not decision.allowed:
                return JSONResponse(
                    {"error": "rate limit exceeded"},
                    status_code=429,
                    headers={**headers, "Retry-After": str(decision.retry_after)},
                )
            headers["X-RateLimit-Remaining"] = str(decision.remaining)
        try:
            params = parse_search(json.loads(await request.body() or b"null"))
        except (ValueError, InvalidValue) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400, headers=headers)
        try:
            results = await run_in_threadpool(run_search, owner, params)
        except NotFound:
            # the same answer for a domain that does not exist and one of another tenant
            return JSONResponse(
                {"error": f"unknown domain {params['domain']!r}"}, status_code=404, headers=headers
            )
        except InvalidValue as exc:
            return JSONResponse({"error": str(exc)}, status_code=400, headers=headers)
        return JSONResponse(
            {"domain": params["domain"], "query": params["query"], "results": results},
            headers=headers,
        )

    def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        # the model is loaded here, once, not on the first customer's request
        await run_in_threadpool(
            lambda: backend_for_model(settings.resolved_embedding_model, settings).embed(
                ["warm up"]
            )
        )
        yield

    return Starlette(
        routes=[
            Route("/v1/search", search_endpoint, methods=["POST", "OPTIONS"]),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )

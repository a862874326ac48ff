"""Local HTTP servers that speak the shop APIs the catalogue sync reads: WooCommerce REST v3
(HTTP Basic consumer key/secret, per_page/page with X-WP-TotalPages, modified_after,
_fields=id, variations) and Shopify's public /products.json (limit/page). Tests change the
products between syncs, make the server answer 429 with Retry-After, and read the requests."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.http_thread import serve_in_thread

T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)


def gmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    authorization: str | None
    status: int


@dataclass
class ShopApi:
    key: str = "ck_test_key_123"
    secret: str = "cs_test_secret_456"
    woo_products: dict[int, dict[str, Any]] = field(default_factory=dict)
    woo_variations: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    shopify_products: dict[int, dict[str, Any]] = field(default_factory=dict)
    throttle: list[int] = field(default_factory=list)  # Retry-After seconds of the next 429s
    requests: list[Seen] = field(default_factory=list)
    clock: datetime = T0
    server: Any = None
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    def tick(self) -> str:
        self.clock += timedelta(minutes=5)
        return gmt(self.clock)

    def woo_product(
        self, pid: int, name: str, sku: str, price: str, stock: int | None, **extra: Any
    ) -> None:
        self.woo_products[pid] = {
            "id": pid,
            "name": name,
            "sku": sku,
            "price": price,
            "regular_price": price,
            "sale_price": "",
            "permalink": f"{self.base_url}/product/{name.lower().replace(' ', '-')}/",
            "type": "simple",
            "status": "publish",
            "stock_status": "outofstock" if stock == 0 else "instock",
            "stock_quantity": stock,
            "categories": [{"id": 9, "name": "Tents", "slug": "tents"}],
            "short_description": f"<p>{name} for every season.</p>",
            "date_modified_gmt": self.tick(),
            **extra,
        }

    def shopify_product(self, pid: int, title: str, variants: list[dict[str, Any]]) -> None:
        self.shopify_products[pid] = {
            "id": pid,
            "title": title,
            "handle": title.lower().replace(" ", "-"),
            "body_html": f"<p>{title}, made to last.</p>",
            "product_type": "Stoves",
            "updated_at": self.tick() + "Z",
            "variants": variants,
        }

    def seen(self, prefix: str) -> list[Seen]:
        return [r for r in self.requests if r.path.startswith(prefix)]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    api: ShopApi

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        api = self.api
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        status, body, headers = self.route(api, parts.path, query)
        api.requests.append(Seen(parts.path, query, self.headers.get("Authorization"), status))
        data = json.dumps(body).encode()
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def route(self, api: ShopApi, path: str, query: dict[str, str]) -> tuple[int, Any, dict]:
        if api.throttle:
            return 429, {"code": "rate_limited"}, {"Retry-After": str(api.throttle.pop(0))}
        if path.startswith("/wp-json/wc/v3/"):
            expected = "Basic " + base64.b64encode(f"{api.key}:{api.secret}".encode()).decode()
            if self.headers.get("Authorization") != expected:
                return (
                    401,
                    {
                        "code": "woocommerce_rest_authentication_error",
                        "message": "Invalid signature - provided signature does not match.",
                        "data": {"status": 401},
                    },
                    {},
                )
            if path == "/wp-json/wc/v3/products":
                return self.woo_products(api, query)
            pid = path.removeprefix("/wp-json/wc/v3/products/").removesuffix("/variations")
            if path.endswith("/variations") and pid.isdigit() and int(pid) in api.woo_products:
                return self.paged(api.woo_variations.get(int(pid), []), query, "per_page")
            return 404, {"code": "rest_no_route"}, {}
        if path == "/products.json":
            items = [api.shopify_products[k] for k in sorted(api.shopify_products)]
            status, page, _ = self.paged(items, query, "limit")
            return status, {"products": page}, {}
        return 404, {"error": "not found"}, {}

    def woo_products(self, api: ShopApi, query: dict[str, str]) -> tuple[int, Any, dict]:
        items = sorted(api.woo_products.values(), key=lambda p: (p["date_modified_gmt"], p["id"]))
        items = [p for p in items if p["status"] == query.get("status", "publish")]
        if "modified_after" in query:
            items = [p for p in items if p["date_modified_gmt"] > query["modified_after"]]
        if query.get("_fields") == "id":
            items = [{"id": p["id"]} for p in items]
        return self.paged(items, query, "per_page")

    @staticmethod
    def paged(items: list[Any], query: dict[str, str], size_key: str) -> tuple[int, Any, dict]:
        size = int(query.get(size_key, 10))
        page = int(query.get("page", 1))
        total_pages = max(1, -(-len(items) // size))
        return (
            200,
            items[(page - 1) * size : page * size],
            {"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(total_pages)},
        )


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True


def start(api: ShopApi) -> ShopApi:
    handler = type("BoundShopHandler", (Handler,), {"api": api})
    api.server = QuietServer(("127.0.0.1", 0), handler)
    api.port = api.server.server_address[1]
    serve_in_thread(api.server)
    return api


def stop(api: ShopApi) -> None:
    api.server.shutdown()
    api.server.server_close()

"""Generated sites shaped like real ones, on a real threaded HTTP server on 127.0.0.1 that
records every request (the crawl tests and `bench/crawl_recrawl.py` use them).

- a shop: products at numeric ids (`/p/1000` ...), listing pages, print views and sort orders
  that are `rel=canonical` duplicates, tracking parameters, links to removed models (404), an
  optional sitemap with `<lastmod>`;
- a blog: a numbered archive (`/blog/page/2` ...) of dated posts, no sitemap;
- traps: an endless calendar (`/events/2024/01/01` -> the next day) and a session-id loop
  (`/cart?token=<new token>` on every page).

Every 200 carries an ETag (a hash of the body) and Last-Modified, and If-None-Match gets 304.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.http_thread import serve_in_thread

LAST_MODIFIED = formatdate(1_700_000_000, usegmt=True)
ADJECTIVES = [
    "sturdy",
    "compact",
    "deluxe",
    "classic",
    "rugged",
    "silent",
    "bright",
    "slim",
    "heavy",
    "portable",
    "modular",
    "vintage",
    "smart",
    "foldable",
    "tiny",
    "giant",
    "quick",
    "gentle",
    "robust",
    "elegant",
    "humble",
    "brave",
    "golden",
    "frosty",
    "sunny",
]
MATERIALS = [
    "oak",
    "steel",
    "copper",
    "bamboo",
    "linen",
    "granite",
    "walnut",
    "cotton",
    "glass",
    "leather",
    "ceramic",
    "wool",
    "marble",
    "cedar",
    "brass",
    "silk",
    "cork",
    "slate",
    "pine",
    "velvet",
]
NOUNS = [
    "kettle",
    "lamp",
    "chair",
    "table",
    "shelf",
    "clock",
    "mirror",
    "basket",
    "stool",
    "vase",
    "blanket",
    "teapot",
    "desk",
    "bench",
    "crate",
    "ladder",
    "bucket",
    "rack",
    "tray",
    "bowl",
]
FILLER = (
    "Delivery takes two to four working days and returns are free for thirty days. "
    "Every item is checked by hand before it leaves our workshop, and spare parts are "
    "available for ten years after purchase. "
)


def names() -> list[str]:
    return [f"{a} {m} {n}" for a, m, n in itertools.product(ADJECTIVES, MATERIALS, NOUNS)]


# What every page of a real shop carries besides its content: inline theme CSS and script
# (~12 KB) and a menu.
THEME = (
    "<style>"
    + "".join(f".c{i}{{margin:{i % 7}px;padding:{i % 5}px;color:#{i:06x}}}" for i in range(260))
    + "</style>"
    "<script>window.theme="
    + "{"
    + ",".join(f'"k{i}":"v{i}"' for i in range(400))
    + "}"
    + "</script>"
)
MENU = "".join(f"<a href='/shop/page/1?utm_content=menu{i}'>{n}</a>" for i, n in enumerate(NOUNS))


def html(title: str, body: str, canonical: str | None = None) -> bytes:
    head = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"<meta name='description' content='{title}'>{head}{THEME}</head><body>"
        "<header class='site-header'><a href='/'>Home</a><nav><a href='/shop/page/1'>Shop</a>"
        f"<a href='/about'>About</a>{MENU}</nav></header>"
        f"<main>{body}</main><footer>Footer <a href='/about'>About us</a></footer></body></html>"
    ).encode()


@dataclass
class Recorded:
    path: str
    status: int
    conditional: bool
    bytes: int


@dataclass
class Site:
    pages: dict[str, bytes] = field(default_factory=dict)
    sitemap: list[tuple[str, str | None]] | None = None  # (path, lastmod)
    traps: bool = False
    delay: float = 0.0  # seconds before every page answer
    redirects: dict[str, str] = field(default_factory=dict)  # path -> Location (301)
    errors: dict[str, int] = field(default_factory=dict)  # path -> status (5xx...)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # path -> (body, type)
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    server: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def domain(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return f"http://{self.domain}{path}"

    def page_requests(self) -> list[Recorded]:
        return [r for r in self.requests if not r.path.startswith(("/robots.txt", "/sitemap"))]

    def route(self, path: str, query: dict[str, list[str]]) -> tuple[int, bytes, str]:
        if path == "/robots.txt":
            lines = "User-agent: *\nAllow: /\n"
            if self.sitemap is not None:
                lines += f"Sitemap: {self.url('/sitemap.xml')}\n"
            return 200, lines.encode(), "text/plain"
        if path == "/sitemap.xml" and self.sitemap is not None:
            entries = "".join(
                f"<url><loc>{self.url(p)}</loc>{f'<lastmod>{m}</lastmod>' if m else ''}</url>"
                for p, m in self.sitemap
            )
            return (
                200,
                (
                    "<?xml version='1.0' encoding='UTF-8'?><urlset xmlns="
                    "'http://www.sitemaps.org/schemas/sitemap/0.9'>" + entries + "</urlset>"
                ).encode(),
                "application/xml",
            )
        if self.traps and path.startswith("/events/"):
            day = date.fromisoformat(path.removeprefix("/events/").replace("/", "-"))
            nxt = day + timedelta(days=1)
            return (
                200,
                html(
                    f"Events on {day}",
                    f"<h1>Events on {day}</h1><p>No events on {day}.</p>"
                    f"<a href='/events/{nxt:%Y/%m/%d}'>Next day</a>",
                ),
                "text/html",
            )
        if self.traps and path == "/cart":
            token = secrets.token_hex(8)
            return (
                200,
                html(
                    "Your cart",
                    "<h1>Your cart</h1><p>Your cart is empty.</p>"
                    f"<a href='/cart?token={token}'>Refresh cart</a>",
                ),
                "text/html",
            )
        if path in self.errors:
            return self.errors[path], html("Error", "<h1>Server error</h1>"), "text/html"
        if path in self.redirects:
            return 301, b"", "text/html"
        if path in self.pages:
            return 200, self.pages[path], "text/html; charset=utf-8"
        if path in self.files:
            return 200, *self.files[path]
        return 404, html("Not found", "<h1>Not found</h1>"), "text/html"


def shop(
    products: int = 500,
    *,
    per_listing: int = 20,
    print_views: float = 0.4,
    dead_every: int = 13,
    sitemap: bool = True,
    lastmod: str | None = "2026-01-01",
    traps: bool = False,
) -> Site:
    """A shop of `products` products at `/p/<1000+i>`. A share `print_views` of products link a
    print view (`/p/<id>/print`, rel=canonical to the product); every listing page links its
    `?sort=price` order (rel=canonical to the listing); every `dead_every`-th product links a
    removed older model (404); links carry tracking parameters now and then."""
    catalogue = names()
    pages: dict[str, bytes] = {}
    ids = [1000 + i for i in range(products)]
    listings = max(1, -(-products // per_listing))
    for i, pid in enumerate(ids):
        name = catalogue[(i * 37) % len(catalogue)]
        extra = ""
        if (i % 10) < int(print_views * 10):
            extra += f"<a href='/p/{pid}/print'>Print this page</a>"
            pages[f"/p/{pid}/print"] = html(
                f"{name} (print)", f"<h1>{name}</h1><p>{FILLER * 8}</p>", canonical=f"/p/{pid}"
            )
        if dead_every and i % dead_every == 0:
            extra += f"<a href='/p/{pid}/older-model'>Previous model</a>"
        related = ids[(i + 1) % products]
        pages[f"/p/{pid}"] = html(
            name,
            f"<h1>{name.title()}</h1><p>The {name} is made to last. {FILLER * 8}</p>"
            f"<p>Item number {pid}.</p>{extra}"
            f"<a href='/p/{related}?utm_source=related'>You may also like</a>",
        )
    for k in range(1, listings + 1):
        chunk = ids[(k - 1) * per_listing : k * per_listing]
        items = "".join(
            f"<li><a href='/p/{pid}'>{catalogue[((pid - 1000) * 37) % len(catalogue)]}</a></li>"
            for pid in chunk
        )
        nav = f"<a href='/shop/page/{k + 1}'>Next page</a>" if k < listings else ""
        by_price = f"<a href='/shop/page/{k}?sort=price'>By price</a>"
        body = f"<h1>Shop, page {k}</h1><ul>{items}</ul>{nav}{by_price}"
        pages[f"/shop/page/{k}"] = html(f"Shop page {k}", body)
        pages[f"/shop/page/{k}?sort=price"] = html(
            f"Shop page {k} by price", body, canonical=f"/shop/page/{k}"
        )
    pages["/"] = html(
        "Home",
        "<h1>Welcome</h1><p>Things for the home, made to last.</p>"
        "<a href='/shop/page/1'>Shop</a><a href='/about?utm_campaign=home'>About</a>"
        + (
            "<a href='/events/2024/01/01'>Events</a><a href='/cart?token=start'>Cart</a>"
            if traps
            else ""
        ),
    )
    pages["/about"] = html("About", "<h1>About us</h1><p>A family workshop since 1921.</p>")
    listed = None
    if sitemap:
        listed = [(p, lastmod) for p in pages if "?" not in p and not p.endswith("/print")]
    return Site(pages=pages, sitemap=listed, traps=traps)


def listing_pages(
    prefix: str, entries: list[tuple[str, str]], per_page: int, heading: str, next_text: str
) -> dict[str, bytes]:
    """A paginated listing (`<prefix>/1`, `<prefix>/2`, ...) of (path, link text) entries, each
    page linking the next."""
    count = max(1, -(-len(entries) // per_page))
    pages = {}
    for k in range(1, count + 1):
        items = "".join(
            f"<li><a href='{path}'>{text}</a></li>"
            for path, text in entries[(k - 1) * per_page : k * per_page]
        )
        nav = f"<a href='{prefix}/{k + 1}'>{next_text}</a>" if k < count else ""
        pages[f"{prefix}/{k}"] = html(
            f"{heading} page {k}", f"<h1>{heading}, page {k}</h1><ul>{items}</ul>{nav}"
        )
    return pages


def numbered_shop(
    products: int = 500, *, per_listing: int = 25, sitemap_share: float = 0.5
) -> Site:
    """A shop whose products differ only in their numbers ("Item 10403 is a tent with serial
    SER00403, weighing 503 grams and priced at 423 euros."), at `/p/<10000+i>`. Product pages
    are leaves (they link nothing but the menu). The first `sitemap_share` of them are in the
    sitemap; every product is on a paginated listing (`/shop/page/N`, each linking the next).
    With `sitemap_share=0` there is no sitemap at all."""
    pages: dict[str, bytes] = {}
    ids = [10000 + i for i in range(products)]
    for i, pid in enumerate(ids):
        pages[f"/p/{pid}"] = html(
            f"Item {pid}",
            f"<h1>Item {pid}</h1><p>Item {pid} is a tent with serial SER{i:05d}, "
            f"weighing {100 + i * 3} grams and priced at {20 + i} euros.</p>",
        )
    pages.update(
        listing_pages(
            "/shop/page",
            [(f"/p/{pid}", f"Item {pid}") for pid in ids],
            per_listing,
            "Tents",
            "Next page",
        )
    )
    pages["/"] = html("Home", "<h1>Tents</h1><a href='/shop/page/1'>All tents</a>")
    pages["/about"] = html("About", "<h1>About us</h1><p>Tents since 1921.</p>")
    listed = None
    if sitemap_share > 0:
        listed = [
            ("/", None),
            *((f"/p/{pid}", None) for pid in ids[: int(products * sitemap_share)]),
        ]
    return Site(pages=pages, sitemap=listed)


def blog(posts: int = 120, per_page: int = 10) -> Site:
    """A blog with a numbered archive (`/blog/page/N`, each linking the next) of dated posts;
    no sitemap, so every post is found through the archive."""
    catalogue = names()
    pages: dict[str, bytes] = {}
    start = date(2024, 1, 1)
    paths = []
    for i in range(posts):
        day = start + timedelta(days=i * 3)
        topic = catalogue[(i * 53) % len(catalogue)]
        path = f"/article/{day:%Y/%m/%d}/caring-for-your-{topic.replace(' ', '-')}"
        paths.append(path)
        pages[path] = html(
            f"Caring for your {topic}",
            f"<h1>Caring for your {topic}</h1><p>Our tips for the {topic}. {FILLER * 4}</p>",
        )
    pages.update(
        listing_pages(
            "/blog/page", [(p, p.rsplit("/", 1)[1]) for p in paths], per_page, "Blog", "Older posts"
        )
    )
    pages["/"] = html("Home", "<h1>Journal</h1><a href='/blog/page/1'>Blog</a>")
    return Site(pages=pages, sitemap=None)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    site: Site

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        key = self.path if self.path in self.site.pages else parts.path
        status, body, ctype = self.site.route(key, parse_qs(parts.query))
        if self.site.delay and not key.startswith(("/robots.txt", "/sitemap")):
            time.sleep(self.site.delay)
        headers = {"Content-Type": ctype}
        if status == 301:
            headers["Location"] = self.site.redirects[key]
        conditional = bool(
            self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since")
        )
        if status == 200 and (key in self.site.pages or key in self.site.files):
            etag = '"' + hashlib.md5(body).hexdigest() + '"'
            headers.update(ETag=etag, **{"Last-Modified": LAST_MODIFIED})
            if self.headers.get("If-None-Match") == etag:
                status, body = 304, b""
        with self.site.lock:
            self.site.requests.append(Recorded(self.path, status, conditional, len(body)))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def serve(site: Site) -> Site:
    handler = type("SiteHandler", (Handler,), {"site": site})
    server = QuietServer((site.host, site.port), handler)
    site.port = server.server_address[1]
    site.server = server
    serve_in_thread(server)
    return site


def stop(site: Site) -> None:
    site.server.shutdown()
    site.server.server_close()

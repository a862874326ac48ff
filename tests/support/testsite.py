"""The test site: a real threaded HTTP server on 127.0.0.1 that records every request.

Pages are bytes in a dict the tests may change between crawls; every 200 answer carries an
ETag (a hash of the body) and a Last-Modified, and conditional requests get 304.
"""
# ruff: noqa: E501 - its page fixtures are written as a site serves them; a line break
# inside one would change the page under test

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.http_thread import serve_in_thread

LAST_MODIFIED = formatdate(1_700_000_000, usegmt=True)
CRAWL_DELAY = 0.05

CHROME = """<header class="site-header"><a href="/">Acme</a><nav><a href="/">Home</a>
<a href="/about">About</a><a href="/products/1">Products</a></nav></header>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your visit. <button>Accept</button></div>"""
FOOTER = '<footer>Copyright Acme footer text <a href="/about">About us</a></footer>'


def page(title: str, body: str, *, lang: str = "en", extra_head: str = "") -> bytes:
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta name="description" content="{title} description">{extra_head}</head>'
        f"<body>{CHROME}<main>{body}</main>{FOOTER}</body></html>"
    ).encode()


def para(words: str, n: int = 6) -> str:
    return "<p>" + " ".join([words] * n) + "</p>"


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    status: int


@dataclass
class TestSite:
    __test__ = False  # a site for tests, not a test class
    host: str = "127.0.0.1"
    port: int = 0
    pages: dict[str, bytes] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)  # path -> Location (302)
    requests: list[Recorded] = field(default_factory=list)
    big_size: int = 400_000
    server: Any = None

    @property
    def domain(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return f"http://{self.domain}{path}"

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def page_requests(self) -> list[Recorded]:
        return [r for r in self.requests if not r.path.startswith(("/robots.txt", "/sitemap"))]


def default_pages() -> dict[str, bytes]:
    pages = {
        "/": page(
            "Acme home",
            "<h1>Welcome to Acme</h1>"
            + para("Acme makes sturdy anvils for everyone.")
            + """<ul><li><a href="/about">About</a></li><li><a href="/products/1#top">Product 1</a></li>
                  <li><a href="/private/secret">Secret</a></li><li><a href="/missing">Missing page</a></li>
                  <li><a href="/calendar?month=2024-01">Calendar</a></li><li><a href="/big">Big</a></li>
                  <li><a href="/loop-a">Loop</a></li><li><a href="/legacy">Legacy</a></li>
                  <li><a href="/app">App</a></li><li><a href="/docs/manual.pdf">Manual (PDF)</a></li>
                  <li><a href="/img/logo.png">Logo</a></li><li><a href="https://example.org/partner">Partner</a></li>
                  <li><a href="/sponsored" rel="nofollow sponsored">Sponsored</a></li>
                  <li><a href="/about?utm_source=newsletter&amp;utm_medium=email">About (tracked)</a></li>
                  <li><a href="/dup-a">Dup A</a></li><li><a href="/dup-b">Dup B</a></li>
                  <li><a href="/server-error">Broken server</a></li><li><a href="/image-page">Image page</a></li>
                  <li><a href="/alias">Alias</a></li></ul>""",
        ),
        "/about": page(
            "About Acme", "<h1>About us</h1><h2>History</h2>" + para("Founded in 1900 by Wile.")
        ),
        "/products/1": page(
            "Product 1",
            "<h1>Anvil One</h1>"
            + para("The classic anvil, 50 kg.")
            + '<a href="/products/2">Next</a>',
        ),
        "/products/2": page(
            "Product 2",
            "<h1>Anvil Two</h1>"
            + para("The heavy anvil, 100 kg.")
            + '<a href="/products/3">Next</a><a href="/gone-soon">Old offer</a>',
        ),
        "/products/3": page("Product 3", "<h1>Anvil Three</h1>" + para("The giant anvil, 500 kg.")),
        "/gone-soon": page("Old offer", "<h1>Old offer</h1>" + para("This offer ends soon.")),
        "/dup-a": page("Shipping", "<h1>Shipping</h1>" + para("We ship anvils worldwide by sea.")),
        "/dup-b": page(
            "Shipping copy", "<h1>Shipping</h1>" + para("We ship anvils worldwide by sea.")
        ),
        "/alias": page(
            "Canonical",
            "<h1>Canonical</h1>" + para("Canonical target text."),
            extra_head='<link rel="canonical" href="/canonical-target">',
        ),
        "/canonical-target": page(
            "Canonical", "<h1>Canonical</h1>" + para("Canonical target text.")
        ),
        "/private/secret": page("Secret", "<h1>Secret</h1>"),
        "/sponsored": page("Sponsored", "<h1>Sponsored</h1>" + para("Paid content.")),
        "/app": (
            b"<!doctype html><html lang='en'><head><title>App</title></head><body>"
            b"<div id='root'></div><script>document.getElementById('root').innerHTML = "
            b"'<h1>Rendered app</h1><p>' + 'Only JavaScript writes this sentence. '.repeat(12) + "
            b"'</p>';</script></body></html>"
        ),
    }
    legacy = (
        "<!doctype html><html lang='fr'><head><meta http-equiv='Content-Type' "
        "content='text/html; charset=windows-1252'><title>Caf\u00e9 cr\u00e8me</title></head>"
        "<body><main><h1>Caf\u00e9 \u201cd\u00e9j\u00e0 vu\u201d \u2013 cr\u00e8me "
        "br\u00fbl\u00e9e</h1>"
        "<p>Pr\u00eat \u00e0 go\u00fbter: na\u00efve fa\u00e7ade \u2026 \u20ac5 et plus encore de "
        "texte "
        "pour que la page ne soit pas une coquille vide d'application.</p></main></body></html>"
    )
    pages["/legacy"] = legacy.encode("cp1252")
    return pages


def sitemap_index(site: TestSite) -> bytes:
    return (
        f"<?xml version='1.0' encoding='UTF-8'?><sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        f"<sitemap><loc>{site.url('/sitemap-pages.xml.gz')}</loc></sitemap></sitemapindex>"
    ).encode()


def sitemap_pages(site: TestSite) -> bytes:
    locs = ["/", "/products/3", "/dup-b", "/sitemap-only", "/private/from-sitemap"]
    body = "".join(f"<url><loc>{site.url(p)}</loc></url>" for p in locs)
    xml = (
        f"<?xml version='1.0' encoding='UTF-8'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        f"{body}</urlset>"
    ).encode()
    return gzip.compress(xml)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    site: TestSite

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        site = self.site
        parts = urlsplit(self.path)
        path = parts.path
        status, body, headers = self.route(site, path, parse_qs(parts.query))
        if status == 200 and "ETag" not in headers and not path.startswith(("/robots", "/sitemap")):
            etag = '"' + hashlib.md5(body).hexdigest() + '"'
            headers.update({"ETag": etag, "Last-Modified": LAST_MODIFIED})
            if self.headers.get("If-None-Match") == etag:
                status, body = 304, b""
        site.requests.append(Recorded(self.path, dict(self.headers.items()), status))
        self.send_response(status)
        headers.setdefault("Content-Type", "text/html; charset=utf-8")
        for key, value in headers.items():
            self.send_header(key, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)

    def route(
        self, site: TestSite, path: str, query: dict[str, list[str]]
    ) -> tuple[int, bytes, dict]:
        if path == "/robots.txt":
            return (
                200,
                (
                    f"User-agent: *\nDisallow: /private/\nCrawl-delay: {CRAWL_DELAY}\n"
                    f"Sitemap: {site.url('/sitemap_index.xml')}\n"
                ).encode(),
                {"Content-Type": "text/plain"},
            )
        if path == "/sitemap_index.xml":
            return 200, sitemap_index(site), {"Content-Type": "application/xml"}
        if path == "/sitemap-pages.xml.gz":
            return 200, sitemap_pages(site), {"Content-Type": "application/x-gzip"}
        if path == "/sitemap-only":
            return (
                200,
                page("Sitemap only", "<h1>Only in the sitemap</h1>" + para("Found via sitemap.")),
                {},
            )
        if path == "/legacy":
            return 200, site.pages["/legacy"], {"Content-Type": "text/html; charset=windows-1252"}
        if path == "/big":
            return 200, b"<html><body>" + b"x" * site.big_size + b"</body></html>", {}
        if path == "/loop-a":
            return 302, b"", {"Location": "/loop-b"}
        if path == "/loop-b":
            return 302, b"", {"Location": "/loop-a"}
        if path == "/server-error":
            return 500, b"oops", {}
        if path == "/image-page":
            return 200, b"\x89PNG\r\n\x1a\n" + b"0" * 100, {"Content-Type": "image/png"}
        if path == "/calendar":
            month = query.get("month", ["2024-01"])[0]
            year, mon = (int(x) for x in month.split("-"))
            nxt = f"{year + mon // 12}-{mon % 12 + 1:02d}"
            return (
                200,
                page(
                    f"Calendar {month}",
                    f"<h1>Events in {month}</h1>"
                    + para(f"No events in {month}.")
                    + f'<a href="/calendar?month={nxt}">Next month</a>',
                ),
                {},
            )
        if path in site.pages:
            return 200, site.pages[path], {}
        if path in site.redirects:
            return 302, b"", {"Location": site.redirects[path]}
        return 404, page("Not found", "<h1>Not found</h1>"), {}


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients (the crawler) drop connections on purpose: too large, cancelled...


def start(site: TestSite, base: type[Handler] = Handler) -> TestSite:
    handler = type("BoundHandler", (base,), {"site": site})
    server = QuietServer((site.host, site.port), handler)
    server.daemon_threads = True
    site.port = server.server_address[1]
    site.server = server
    serve_in_thread(server)
    return site

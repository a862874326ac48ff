"""A local N-page site for the crawl benchmark: `python bench/crawl_site.py --pages 2000`
prints `PORT <n>` and serves until killed. Every page has ~600 words of text, a header, nav and
footer, 8 links to other pages, an ETag and Last-Modified (304 on If-None-Match)."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import random
import sys
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = [
    "anvil",
    "hammer",
    "forge",
    "steel",
    "rope",
    "rocket",
    "spring",
    "magnet",
    "skates",
    "glue",
    "catapult",
    "desert",
    "canyon",
    "coyote",
    "runner",
    "order",
    "delivery",
    "warranty",
    "shipping",
    "return",
    "price",
    "discount",
    "catalogue",
]


def build(pages: int) -> dict[str, bytes]:
    rng = random.Random(42)
    site: dict[str, bytes] = {}
    for n in range(pages):
        links = "".join(
            f'<li><a href="/p/{(n * 7 + k * 13 + 1) % pages}">Item '
            f"{(n * 7 + k * 13 + 1) % pages}</a></li>"
            for k in range(8)
        )
        paras = "".join(
            "<p>" + " ".join(rng.choice(WORDS) for _ in range(60)) + f" page {n}.</p>"
            for _ in range(10)
        )
        site[f"/p/{n}"] = (
            f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Page {n}</title>"
            f"<meta name='description' content='Page {n} of the benchmark site'></head><body>"
            "<header><a href='/'>Home</a><nav><a href='/p/0'>First</a><a "
            "href='/p/1'>Second</a></nav></header>"
            f"<main><h1>Page {n}</h1>{paras}<ul>{links}</ul></main>"
            f"<footer>Footer text <a href='/p/{(n + 1) % pages}'>next</a></footer></body></html>"
        ).encode()
    site["/"] = site["/p/0"].replace(b"<title>Page 0", b"<title>Home")
    urls = "".join(f"<url><loc>{{base}}/p/{n}</loc></url>" for n in range(pages))
    site["/sitemap.xml"] = (
        "<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        + urls
        + "</urlset>"
    ).encode()
    return site


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    site: dict[str, bytes] = {}
    etags: dict[str, str] = {}
    base = ""
    last_modified = formatdate(1_700_000_000, usegmt=True)

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/robots.txt":
            body, status, ctype = b"User-agent: *\nAllow: /\n", 200, "text/plain"
        elif path == "/sitemap.xml":
            body, status, ctype = (
                self.site[path].replace(b"{base}", self.base.encode()),
                200,
                "application/xml",
            )
        elif path in self.site:
            body, status, ctype = self.site[path], 200, "text/html; charset=utf-8"
        else:
            body, status, ctype = b"not found", 404, "text/plain"
        send(self, status, body, ctype, self.etags.get(path), self.last_modified)


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    ctype: str,
    etag: str | None,
    last_modified: str,
) -> None:
    """The answer, or 304 when the request's If-None-Match is the page's ETag."""
    if status == 200 and etag and handler.headers.get("If-None-Match") == etag:
        handler.send_response(304)
        handler.send_header("ETag", etag)
        handler.end_headers()
        return
    handler.send_response(status)
    handler.send_header("Content-Type", ctype)
    handler.send_header("Content-Length", str(len(body)))
    if etag:
        handler.send_header("ETag", etag)
        handler.send_header("Last-Modified", last_modified)
    handler.end_headers()
    handler.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request: object, client_address: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    Handler.site = build(args.pages)
    Handler.etags = {
        p: '"' + hashlib.md5(b).hexdigest() + '"'
        for p, b in Handler.site.items()
        if p.startswith("/p/") or p == "/"
    }
    server = Server(("127.0.0.1", args.port), Handler)
    Handler.base = f"http://127.0.0.1:{server.server_address[1]}"
    print(f"PORT {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()

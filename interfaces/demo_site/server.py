"""Serve the bundled sample site on 127.0.0.1 (a threaded http.server in a daemon thread)."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from interfaces.demo_site import SITE_DIR

# robots.txt and sitemap.xml hold absolute URLs; the port is only known when serving.
TEMPLATED = {"/robots.txt": "text/plain; charset=utf-8", "/sitemap.xml": "application/xml"}


class _Handler(SimpleHTTPRequestHandler):
    base_url = ""

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        template = Path(self.directory) / path.lstrip("/")
        if path in TEMPLATED and template.is_file():
            body = template.read_text().replace("__BASE_URL__", self.base_url).encode()
            self.send_response(200)
            self.send_header("Content-Type", TEMPLATED[path])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return


class SiteServer:
    """`with SiteServer() as site: site.url` -> http://127.0.0.1:<port>"""

    def __init__(self, port: int = 0, directory: Path = SITE_DIR) -> None:
        handler: type[_Handler] = type("DemoHandler", (_Handler,), {})
        self.httpd = ThreadingHTTPServer(
            ("127.0.0.1", port), functools.partial(handler, directory=str(directory))
        )
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        handler.base_url = self.url
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="demo-site", daemon=True
        )

    def start(self) -> SiteServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

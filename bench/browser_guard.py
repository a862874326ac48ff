"""Cost of the browser's SSRF guard: loading a page with many subresources in real Chromium with
Playwright's plain `route.continue_()` (what scrapy-playwright did) vs the guard's path (address
check, the request sent from Python to the pinned address, `route.fulfill`:
`LazyPlaywrightHandler._send_checked`).

    .venv/bin/python bench/browser_guard.py [--loads 15] [--assets 40]

The two modes alternate load by load, so machine noise hits both; prints the median and range of
the page load time of each, and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def serve(assets: int) -> tuple[ThreadingHTTPServer, str]:
    scripts = "".join(f'<script src="/a/{i}.js"></script>' for i in range(assets))
    page = f"<!doctype html><html><head><title>bench</title>{scripts}</head><body>hi</body></html>"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = page.encode() if self.path == "/" else b"window.x = (window.x || 0) + 1;"
            kind = "text/html" if self.path == "/" else "application/javascript"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


async def run(loads: int, assets: int) -> None:
    from playwright.async_api import async_playwright

    from crawlers.address_policy import AddressPolicy
    from crawlers.playwright_handler import LazyPlaywrightHandler, launch_options

    server, url = serve(assets)
    host_port = url.split("/")[2]
    policy = AddressPolicy(allowed_hosts=frozenset({host_port}))  # the check runs, and passes

    async def reason(target: str) -> str | None:
        return await asyncio.to_thread(policy.check_url, target)

    stub = SimpleNamespace(
        _reason=reason,
        _record=lambda *a, **k: None,
        policy=policy,
        _timeout=30.0,
        _max_bytes=10 * 1024 * 1024,
    )

    async def plain(route, request) -> None:
        await route.continue_()

    async def guarded(route, request) -> None:
        if await reason(request.url):
            await route.abort("blockedbyclient")
            return
        await LazyPlaywrightHandler._send_checked(stub, route, None)

    times: dict[str, list[float]] = {"continue": [], "guard": []}
    async with async_playwright() as p:
        browser = await p.chromium.launch(**launch_options(None))
        for i in range(loads * 2):
            mode = ("continue", "guard")[i % 2]
            context = await browser.new_context()
            page = await context.new_page()
            await page.route("**/*", plain if mode == "continue" else guarded)
            started = time.perf_counter()
            await page.goto(url, wait_until="load")
            assert await page.evaluate("window.x") == assets
            times[mode].append(time.perf_counter() - started)
            await context.close()
        await browser.close()
    server.shutdown()
    for mode, values in times.items():
        print(
            f"{mode:9s} median {statistics.median(values) * 1000:7.1f} ms  "
            f"range {min(values) * 1000:.1f}-{max(values) * 1000:.1f} ms  ({len(values)} loads, "
            f"{assets + 1} requests each)"
        )
    print(
        "guard / continue: "
        f"{statistics.median(times['guard']) / statistics.median(times['continue']):.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=15)
    parser.add_argument("--assets", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(run(args.loads, args.assets))


if __name__ == "__main__":
    main()

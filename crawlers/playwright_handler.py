"""scrapy-playwright, launched only when a request asks for a browser, under the SSRF rule.

The stock handler starts the Playwright driver when the engine starts; most crawls never need
it, so this subclass starts it on the first `meta["playwright"]` request instead.

Every request Chromium makes (the page, its redirects, meta refreshes, fetch/XHR, iframes,
popups) goes through Playwright request interception, and every WebSocket through WebSocket
routing, checked by `crawlers.address_policy` (resolve, check every address) before it may
leave; service workers, which interception cannot see, are blocked. A blocked request is
aborted, logged, and counted in the crawl's `browser_blocked` stat. See docs/security.md for
what this does not cover (Chromium resolves the name again after the check).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import logging
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from scrapy.exceptions import IgnoreRequest
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from crawlers import pinned_http
from crawlers.address_policy import AddressPolicy, Blocked
from crawlers.crawl_stats import count

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from playwright.async_api import Page, Route, WebSocketRoute
    from playwright.async_api import Request as PlaywrightRequest
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response
    from scrapy.spiders import Spider
    from scrapy_playwright.handler import BrowserContextWrapper

logger = logging.getLogger(__name__)

BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    # no traffic that request interception cannot see: WebRTC UDP, DNS prefetching
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--dns-prefetch-disable",
]
# A rendered page is read once the DOM is parsed, then its `load` waited for at most LOAD_WAIT_S
# (a script or frame that never answers used to hold the page until the 30 s navigation timeout,
# and the render failed), then the network's quiet for at most IDLE_WAIT_S (data a script fetches
# after load: before, the page was read at `load`, often still an empty shell)
LOAD_WAIT_S = 10.0
IDLE_WAIT_S = 3.0
_ANY = re.compile(r".*")
_REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 10


def _joined(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Response headers for route.fulfill: repeated ones joined (Set-Cookie by newlines)."""
    out: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        if key in out:
            out[key] += ("\n" if key == "set-cookie" else ", ") + value
        else:
            out[key] = value
    return out


def _is_main_frame_navigation(request: PlaywrightRequest) -> bool:
    try:
        return bool(request.is_navigation_request() and request.frame.parent_frame is None)
    except Exception:  # noqa: BLE001 - a request of a closed page has no frame
        return False


class _CheckedRoute:
    """A Playwright Route whose continue_() sends the request through the redirect check."""

    def __init__(self, route: Route, handler: LazyPlaywrightHandler, page_url: str | None) -> None:
        self._route, self._handler, self._page_url = route, handler, page_url

    def __getattr__(self, name: str) -> Any:
        return getattr(self._route, name)

    async def continue_(self, **overrides: Any) -> None:
        await self._handler._send_checked(self._route, self._page_url, **overrides)


_HEAVY = {"image", "media", "font"}


def bundled_chromium_installed() -> bool:
    root = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache/ms-playwright")
    return root.is_dir() and any(root.glob("chromium*"))


def launch_options(chromium_path: str | None) -> dict[str, Any]:
    """Headless Chromium: the configured binary, Playwright's own, else the system Chromium."""
    options: dict[str, Any] = {"headless": True, "args": list(BROWSER_ARGS)}
    if chromium_path:
        options["executable_path"] = chromium_path
    elif not bundled_chromium_installed():
        system = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
        options["executable_path"] = system
    return options


async def abort_heavy_resources(request: PlaywrightRequest) -> bool:
    """Images, media and fonts never change a page's text: do not download them."""
    return request.resource_type in _HEAVY


class LazyPlaywrightHandler(ScrapyPlaywrightDownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._launched = False
        self._launch_lock = asyncio.Lock()
        settings = crawler.settings
        self.policy = AddressPolicy.from_crawler_settings(settings)
        self._timeout = settings.getfloat("DOWNLOAD_TIMEOUT")
        self._max_bytes = settings.getint("DOWNLOAD_MAXSIZE")
        # page URL -> reason, when the page's own main frame was sent to a blocked address
        self._main_frame_blocked: dict[str, str] = {}

    # ------------------------------------------------------------------ the guard
    async def _reason(self, url: str) -> str | None:
        return await asyncio.to_thread(self.policy.check_url, url)

    def _record(
        self,
        kind: str,
        url: str,
        page_url: str | None,
        reason: str,
        request: PlaywrightRequest | None = None,
    ) -> None:
        if page_url and request is not None and _is_main_frame_navigation(request):
            self._main_frame_blocked[page_url] = f"{reason} (the page navigated to {url[:200]})"
        logger.warning("browser %s blocked: %s (page %s): %s", kind, url[:300], page_url, reason)
        count(self.stats, "browser_blocked")
        count(self.stats, f"browser_blocked_{kind}")

    async def _send_checked(self, route: Route, page_url: str | None, **overrides: Any) -> None:
        """Send an allowed request ourselves, to the checked address, and hand Chromium the answer.

        The connection goes to the address the check resolved (`crawlers.pinned_http`: no second
        DNS answer). Chromium follows redirects without asking request interception again, so a
        redirect is never given to it: each hop is checked and fetched here, and the final answer
        is what the page gets (its URL stays the first one)."""
        request = route.request
        url = request.url
        method = overrides.get("method") or request.method
        headers = overrides.get("headers") or await request.all_headers()
        body = overrides.get("post_data")
        body = body.encode() if isinstance(body, str) else (body or request.post_data_buffer)
        for _ in range(MAX_REDIRECTS + 1):
            try:
                answer = await asyncio.to_thread(
                    pinned_http.request,
                    self.policy,
                    method,
                    url,
                    headers,
                    body,
                    timeout=self._timeout,
                    max_bytes=self._max_bytes,
                )
            except Blocked as exc:
                self._record(
                    "redirect" if url != request.url else request.resource_type,
                    url,
                    page_url,
                    str(exc),
                    request,
                )
                await route.abort("blockedbyclient")
                return
            except (OSError, http.client.HTTPException) as exc:
                logger.info("browser request failed: %s: %s", url[:300], exc)
                await route.abort("failed")
                return
            location = answer.header("location")
            if answer.status not in _REDIRECTS or not location:
                await route.fulfill(
                    status=answer.status, headers=_joined(answer.headers), body=answer.body
                )
                return
            url = urljoin(url, location)
            if answer.status == 303 or (answer.status in (301, 302) and method.upper() == "POST"):
                method, body = "GET", None
        await route.abort("failed")  # a redirect loop

    def _make_request_handler(
        self, **kwargs: Any
    ) -> Callable[[Route, PlaywrightRequest], Awaitable[None]]:
        """scrapy-playwright's per-page route handler, behind the address check."""
        inner = super()._make_request_handler(**kwargs)
        page_url = kwargs.get("url")

        async def guarded(route: Route, request: PlaywrightRequest) -> None:
            if reason := await self._reason(request.url):
                self._record(request.resource_type, request.url, page_url, reason, request)
                await route.abort("blockedbyclient")
                return
            await inner(_CheckedRoute(route, self, page_url), request)

        return guarded

    async def _context_guard(self, route: Route, request: PlaywrightRequest) -> None:
        """Pages scrapy-playwright does not route itself (popups) still pass the check."""
        if reason := await self._reason(request.url):
            self._record(request.resource_type, request.url, None, reason)
            await route.abort("blockedbyclient")
            return
        await self._send_checked(route, None)

    async def _websocket_guard(self, ws: WebSocketRoute) -> None:
        if reason := await self._reason(ws.url):
            self._record("websocket", ws.url, None, reason)
            await ws.close(code=1008, reason="blocked")
            return
        ws.connect_to_server()

    async def _create_browser_context(
        self, name: str, context_kwargs: dict[str, Any] | None, spider: Spider | None = None
    ) -> BrowserContextWrapper:
        context_kwargs = {"service_workers": "block", **(context_kwargs or {})}
        wrapper = await super()._create_browser_context(
            name=name, context_kwargs=context_kwargs, spider=spider
        )
        await wrapper.context.route("**/*", self._context_guard)
        await wrapper.context.route_web_socket(_ANY, self._websocket_guard)
        return wrapper

    async def _maybe_launch_in_thread(self) -> None:  # engine_started: do nothing yet
        return None

    async def _download_request(self, request: Request, spider: Spider | None = None) -> Response:
        if not self._launched:
            async with self._launch_lock:
                if not self._launched:
                    await self._launch()
                    self._launched = True
        # read at DOMContentLoaded, then settled (_apply_page_methods), not at `load`
        request.meta.setdefault("playwright_page_goto_kwargs", {"wait_until": "domcontentloaded"})
        try:
            response = await super()._download_request(request, spider)
        except Exception:
            # e.g. "the page is navigating": a meta refresh whose check may still be running
            if reason := await self._main_frame_reason(request.url, wait=1.0):
                raise IgnoreRequest(reason) from None
            raise
        if reason := self._main_frame_blocked.pop(request.url, None):
            # Chromium's error page is not the site's content: the page fails with the reason.
            raise IgnoreRequest(reason)
        return response

    async def _apply_page_methods(self, page: Page, request: Request, spider: Spider) -> None:
        await self._settle(page, request.url)
        await super()._apply_page_methods(page, request, spider)

    async def _settle(self, page: Page, url: str) -> None:
        """Wait for what a reader waits for, bounded (LOAD_WAIT_S, IDLE_WAIT_S): the page's
        `load`, else its loading stopped (counted `render_load_stopped`), then a quiet network."""
        try:
            await page.wait_for_load_state("load", timeout=LOAD_WAIT_S * 1000)
        except PlaywrightTimeoutError:
            logger.info("%s: no load event after %.0f s, loading stopped", url, LOAD_WAIT_S)
            count(self.stats, "render_load_stopped")
            await page.evaluate("window.stop()")
        with contextlib.suppress(PlaywrightTimeoutError):
            await page.wait_for_load_state("networkidle", timeout=IDLE_WAIT_S * 1000)

    async def _main_frame_reason(self, page_url: str, wait: float) -> str | None:
        for _ in range(int(wait / 0.05) + 1):
            if page_url in self._main_frame_blocked:
                return self._main_frame_blocked.pop(page_url)
            await asyncio.sleep(0.05)
        return None

"""scrapy-playwright, launched only when a request asks for a browser.

The stock handler starts the Playwright driver when the engine starts; most crawls never need
it, so this subclass starts it on the first `meta["playwright"]` request instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update"]
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


async def abort_heavy_resources(request: Any) -> bool:
    """Images, media and fonts never change a page's text: do not download them."""
    return request.resource_type in _HEAVY


class LazyPlaywrightHandler(ScrapyPlaywrightDownloadHandler):
    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self._launched = False
        self._launch_lock = asyncio.Lock()

    async def _maybe_launch_in_thread(self) -> None:  # engine_started: do nothing yet
        return None

    async def _download_request(self, request: Any, spider: Any = None) -> Any:
        if not self._launched:
            async with self._launch_lock:
                if not self._launched:
                    await self._launch()
                    self._launched = True
        return await super()._download_request(request, spider)

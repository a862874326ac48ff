"""App-shell fallback: a static HTML page with scripts but almost no text is fetched again
through Chromium (scrapy-playwright); the item records `render_mode`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from scrapy.http import HtmlResponse

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

MIN_TEXT_CHARS = 200
# <noscript> is text a reader without JavaScript sees, and what a crawler is served: Discourse
# puts a topic's posts there, and rendering such a page instead timed out on real forums
_STRIP = re.compile(rb"<(script|style|template)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_TAGS = re.compile(rb"<[^>]*>")
_SPACE = re.compile(rb"\s+")


def visible_text_length(body: bytes) -> int:
    """Rough length of the text a reader sees in static HTML (no parse: cheap on every page)."""
    text = _TAGS.sub(b" ", _STRIP.sub(b" ", body))
    return len(_SPACE.sub(b" ", text).strip())


def looks_like_app_shell(body: bytes) -> bool:
    head = body[:2_000_000]
    if b"<script" not in head.lower():
        return False
    return visible_text_length(head) < MIN_TEXT_CHARS


class AppShellFallbackMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AppShellFallbackMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        meta = request.meta
        if (
            not meta.get("omni_page")
            or meta.get("playwright")
            or meta.get("omni_static")  # asked again without the browser, which failed on it
            or response.status != 200
            or not isinstance(response, HtmlResponse)
            or not looks_like_app_shell(response.body)
        ):
            return response
        rendered = request.replace(dont_filter=True)
        rendered.meta.update(playwright=True, render_mode="playwright", omni_app_shell=True)
        for header in (b"If-None-Match", b"If-Modified-Since"):
            rendered.headers.pop(header, None)
        return rendered

"""Charset: bytes -> text exactly as the crawler decodes a page.

The spider reads `response.text` of Scrapy's `HtmlResponse`: the encoding comes from a BOM, then
the HTTP `Content-Type` charset, then `<meta charset>` / `<meta http-equiv>`, then detection
(ASCII, UTF-8, charset-normalizer); bytes that are UTF-8 are read as UTF-8 whatever the label
(core.charset). `decode_html` builds the same response object, so the benchmark and any code
holding only bytes decode a page the way a crawl would.
"""

from __future__ import annotations

from scrapy.http import HtmlResponse

from core.charset import as_utf8_when_it_is

_URL = "http://decode.invalid/"


def decode_html(body: bytes, content_type: str | None = None) -> str:
    headers = {"Content-Type": content_type} if content_type else {}
    return as_utf8_when_it_is(HtmlResponse(url=_URL, body=body, headers=headers)).text

"""A page whose bytes are UTF-8 but whose declared charset says otherwise.

Servers and templates often keep a legacy charset label (`<meta charset=iso-8859-1>`, `gb2312`)
on pages that are written in UTF-8, and decoding by the label turns every non-ASCII character
into mojibake. The reverse mistake is very unlikely: text in a legacy charset with non-ASCII
characters is almost never valid UTF-8 as a whole (an accented Latin-1 letter followed by ASCII,
or a GB2312 pair, breaks the UTF-8 rules). So bytes that decode as UTF-8 and hold non-ASCII
characters are read as UTF-8 whatever the label. Both the crawl (crawlers/spiders/site.py) and
`decode_html` below use this rule, so they store the same text. `decode_html` builds the
response a crawl builds (BOM, HTTP charset, <meta>, detection), so code holding only bytes
(the benchmarks) decodes a page the way a crawl would.
"""

from __future__ import annotations

import codecs
from typing import TYPE_CHECKING, TypeVar

from scrapy.http import HtmlResponse

if TYPE_CHECKING:
    from scrapy.http import TextResponse

Response = TypeVar("Response", bound="TextResponse")

_UNICODE = {"utf-8", "utf-16", "utf-16-be", "utf-16-le", "utf-32", "utf-32-be", "utf-32-le"}


def utf8_despite_label(body: bytes, declared: str | None) -> bool:
    """True when `body` is UTF-8 with non-ASCII characters but `declared` names another charset."""
    if not declared or body.isascii():
        return False
    try:
        name = codecs.lookup(declared).name
    except LookupError:
        return False
    if name in _UNICODE:
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def as_utf8_when_it_is(response: Response) -> Response:
    """The response, read as UTF-8 when its bytes are UTF-8 under another charset's label."""
    if utf8_despite_label(response.body, response.encoding):
        return response.replace(encoding="utf-8")
    return response


_URL = "http://decode.invalid/"


def decode_html(body: bytes, content_type: str | None = None) -> str:
    headers = {"Content-Type": content_type} if content_type else {}
    return as_utf8_when_it_is(HtmlResponse(url=_URL, body=body, headers=headers)).text

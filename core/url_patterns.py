"""URL patterns of `omni domain forget` (pure): what a pattern matches, one rule for the
knowledge (db/forget.py) and the crawl (crawlers/state.py).

- `https://shop.test/old-page`: that URL only (as the crawl stores it; the fragment is ignored).
- `/blog/*`: a path pattern; matched against the URL's path and query on any of the site's hosts.
- `https://shop.test/private/*`: a full-URL pattern.
`*` matches any run of characters (slashes included), `?` one character; nothing else is special.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

from core.errors import InvalidValue


def check_pattern(pattern: str) -> str:
    pattern = (pattern or "").strip()
    if not pattern:
        raise InvalidValue("the URL or pattern is empty")
    if re.fullmatch(r"(https?://[^/]*)?/?\**", pattern):
        raise InvalidValue(
            "a pattern matching every page forgets the whole site; remove the domain instead"
        )
    if not pattern.startswith("/") and urlsplit(pattern).scheme not in ("http", "https"):
        raise InvalidValue(
            f"{pattern!r} is neither a URL (http(s)://...) nor a path pattern (/...)"
        )
    return pattern


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    out = [
        ".*" if piece == "*" else "." if piece == "?" else re.escape(piece)
        for piece in re.split(r"([*?])", pattern)
    ]
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def matches(url: str, pattern: str) -> bool:
    target = _path(url) if pattern.startswith("/") else url.split("#", 1)[0]
    return _regex(pattern).match(target) is not None


def matches_any(url: str, patterns: tuple[str, ...] | list[str]) -> bool:
    return any(matches(url, p) for p in patterns)

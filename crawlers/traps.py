"""Crawler traps, judged by behaviour rather than by the shape of a URL (pure; the spider and
`crawlers.middlewares.traps` apply it).

A numeric id in a URL is no trap: a shop's `/p/1000` ... `/p/1199` are 200 real pages. What
makes a trap is that following it never ends and brings nothing new:

- a chain: each page of a URL pattern linking only to the next page of the same pattern
  (endless calendars, "next day"): at most `limit` steps that found nothing else;
- a pattern whose pages bring no new content: the last `limit` pages of the pattern were all
  near-duplicates of one another (the same text once numbers and tokens are removed: empty
  listings, session-id copies) and linked nothing new;
- ever-growing URLs: too many query parameters, a repeated parameter or path segment, or a
  very long URL.

URLs listed in the site's sitemap are never bounded.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from urllib.parse import parse_qsl, urlsplit

import xxhash

MAX_QUERY_PARAMS = 8
MAX_URL_LENGTH = 1000
MAX_SEGMENT_REPEATS = 3

_TOKEN = re.compile(rb"[\w-]*\d[\w-]*")   # words with a digit: ids, dates, counters, session ids
_TAG_ATTRS = re.compile(rb"<[^>]*>")


def fingerprint(body: bytes) -> str:
    """The page's markup and text with numbers and tokens removed: pages of an endless calendar
    or copies under session ids share it; two products with different names do not."""
    return xxhash.xxh3_64_hexdigest(_TOKEN.sub(b"", body))


def shape_trap(url: str) -> str | None:
    """Why a URL's shape alone marks a trap (ever-growing), or None."""
    if len(url) > MAX_URL_LENGTH:
        return "URL too long"
    parts = urlsplit(url)
    params = [k for k, _ in parse_qsl(parts.query, keep_blank_values=True)]
    if len(params) > MAX_QUERY_PARAMS:
        return "too many query parameters"
    if len(set(params)) < len(params):
        return "repeated query parameter"
    segments = [s for s in parts.path.split("/") if s]
    if segments and max(segments.count(s) for s in set(segments)) > MAX_SEGMENT_REPEATS:
        return "repeated path segment"
    return None


class TrapGuard:
    """What the crawl has learnt about each URL pattern (`crawlers.urls.pattern_key`)."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.recent: dict[str, deque[bool]] = defaultdict(lambda: deque(maxlen=self.limit))
        self.fingerprints: dict[str, set[str]] = defaultdict(set)

    def record_page(self, pattern: str, page_fingerprint: str, new_links: int) -> bool:
        """Record a parsed page of `pattern`; whether it brought something new (a text not seen
        on the pattern's other pages, or links to URLs not seen before)."""
        seen = self.fingerprints[pattern]
        productive = page_fingerprint not in seen or new_links > 0
        seen.add(page_fingerprint)
        self.recent[pattern].append(productive)
        return productive

    def barren(self, pattern: str) -> bool:
        """The pattern's last `limit` pages all brought nothing new."""
        recent = self.recent.get(pattern)
        return recent is not None and len(recent) == self.limit and not any(recent)

    def verdict(self, url: str, pattern: str, chain: int, from_sitemap: bool) -> str | None:
        """Why a discovered URL is a trap (not fetched), or None. `chain` is how many pages of
        the same pattern led here in a row, each finding nothing but the next."""
        if from_sitemap:
            return None
        reason = shape_trap(url)
        if reason:
            return reason
        if chain > self.limit:
            return "chain of pages that link only to the next"
        if self.barren(pattern):
            return "pattern brings no new content"
        return None

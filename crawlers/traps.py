"""Crawler traps, judged by behaviour rather than by the shape of a URL (pure; the spider and
`crawlers.middlewares.traps` apply it).

A numeric id in a URL is no trap, and neither are pages that differ only in their numbers: a
shop's `/p/10403` says "a tent, serial SER00403, 503 grams, 423 euros", and those numbers are
what customers ask about. What makes a trap is that following it keeps producing new URLs
without new knowledge:

- a chain: each page of a URL pattern linking only to the next page of the same pattern
  (endless calendars, "next day"): at most `limit` steps that found nothing else;
- a pattern whose pages keep linking new URLs but say nothing new: the last `limit` such pages
  of the pattern all had a fingerprint seen before (the page with its markup's numbers and its
  own URL's numbers removed: an empty calendar day, a session-id copy) and linked nothing new
  outside their pattern;
- ever-growing URLs: too many query parameters, a repeated parameter or path segment, or a
  very long URL.

A leaf page (one that links no URL the crawl has not seen) cannot extend a trap, so it always
counts as productive: a catalogue of leaf products is followed to the end (within `max_pages`).
URLs listed in the site's sitemap are never bounded.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict, deque
from urllib.parse import parse_qsl, urlsplit

import xxhash

MAX_QUERY_PARAMS = 8
MAX_URL_LENGTH = 1000
MAX_SEGMENT_REPEATS = 3

_TOKEN = re.compile(rb"[\w-]*\d[\w-]*")  # words with a digit: ids, dates, counters, session ids
_DIGITS = re.compile(rb"\d+")
_TEXT_DIGITS = re.compile(r"\d+")
_TAG = re.compile(rb"<[^>]*>")
_SESSION_TOKEN = re.compile(rb"^(?=[\w-]*[a-zA-Z])(?=[\w-]*\d)[\w-]{16,}$")  # hex or base64 ids
_CODE = re.compile(rb"<(script|style)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_NUMERIC_PART = re.compile(r"^[\d\W_]+$")  # a path segment or query value without letters


def own_numbers(url: str) -> set[bytes]:
    """The numbers of a URL's path segments and query values that are only numbers (`2024`,
    `01`, `10403`, `2024-01`): what a page echoes of its own address. Host, port and mixed
    tokens (`c9b67e5c88`) are left out."""
    parts = urlsplit(url)
    pieces = [*parts.path.split("/"), *(v for _, v in parse_qsl(parts.query))]
    return {
        n.encode()
        for piece in pieces
        if piece and _NUMERIC_PART.match(piece)
        for n in _TEXT_DIGITS.findall(piece)
    }


def fingerprint(body: bytes, url: str) -> str:
    """What a page says, for telling a page that repeats its pattern from one that adds to it.

    Removed: scripts and styles; every word with a digit inside the markup (links to the next
    day, session tokens in hrefs); in the text, the words whose numbers all come from the
    page's own URL (`own_numbers`: a calendar day's date, an id echoed in the heading) and
    words that look like session tokens. Every other number is kept, so two products that
    differ in serial, weight or price differ here."""
    own = own_numbers(url)

    def text_word(match: re.Match[bytes]) -> bytes:
        word = match.group()
        if _SESSION_TOKEN.match(word) or set(_DIGITS.findall(word)) <= own:
            return b""
        return word

    markup_stripped = _TAG.sub(lambda m: _TOKEN.sub(b"", m.group()), _CODE.sub(b"", body))
    return xxhash.xxh3_64_hexdigest(_TOKEN.sub(text_word, markup_stripped))


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


# What `TrapGuard.record_page` found a page to be (also the guard's counters).
LEAF, NEW_TEXT, NEW_LINKS, COPY = "leaf", "new_text", "new_links", "copy"
CHAIN, BARREN, SHAPE = "chain", "barren", "shape"


class TrapGuard:
    """What the crawl has learnt about each URL pattern (`crawlers.urls.pattern_key`).

    `counts` holds the guard's own counters: pages by what they brought (leaf, new_text,
    new_links, copy) and URLs bounded by reason (chain, barren, shape)."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.recent: dict[str, deque[bool]] = defaultdict(lambda: deque(maxlen=self.limit))
        self.fingerprints: dict[str, set[str]] = defaultdict(set)
        self.counts: Counter[str] = Counter()

    def record_page(
        self, pattern: str, page_fingerprint: str, new_links: int, new_other_links: int
    ) -> bool:
        """Record a parsed page of `pattern`; whether it brought something new. `new_links` is
        how many URLs not seen before it links, `new_other_links` how many of them are of
        another pattern. A leaf (no new links) cannot extend a trap: always productive."""
        seen = self.fingerprints[pattern]
        if new_links == 0:
            outcome = LEAF
        elif page_fingerprint not in seen:
            outcome = NEW_TEXT
        elif new_other_links > 0:
            outcome = NEW_LINKS
        else:
            outcome = COPY
        seen.add(page_fingerprint)
        self.recent[pattern].append(outcome != COPY)
        self.counts[outcome] += 1
        return outcome != COPY

    def barren(self, pattern: str) -> bool:
        """The pattern's last `limit` pages all linked new URLs and brought nothing new."""
        recent = self.recent.get(pattern)
        return recent is not None and len(recent) == self.limit and not any(recent)

    def verdict(self, url: str, pattern: str, chain: int, from_sitemap: bool) -> str | None:
        """Why a discovered URL is a trap (not fetched), or None. `chain` is how many pages of
        the same pattern led here in a row, each finding nothing but the next."""
        if from_sitemap:
            return None
        reason, kind = shape_trap(url), SHAPE
        if not reason and chain > self.limit:
            reason, kind = "chain of pages that link only to the next", CHAIN
        if not reason and self.barren(pattern):
            reason, kind = "pattern brings no new content", BARREN
        if reason:
            self.counts[f"bounded_{kind}"] += 1
        return reason

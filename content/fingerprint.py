"""Fingerprints: XXH3-128 of a page's masked fingerprint text, and the rule that classifies a
fetched page new / changed / unchanged / duplicate (pure; pipelines/hash.py applies it)."""

from __future__ import annotations

import unicodedata
from typing import Literal

import xxhash

from content.volatile import mask_volatile


def normalise_text(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def fingerprint(masked_blocks: list[str]) -> str:
    """XXH3-128 of a page's blocks, volatile parts already masked, whitespace- and
    NFC-normalised."""
    return xxhash.xxh3_128_hexdigest(normalise_text(" ".join(masked_blocks)).encode("utf-8"))


def content_hash(text: str) -> str:
    """The fingerprint of a text as one block."""
    return fingerprint([mask_volatile(text)])


# a page with no text at all (a script-only shell the crawl did not render): two of them are not
# the same page, so it is nobody's duplicate and nobody is its
EMPTY = fingerprint([])

# what a fetched page is, against what is stored and what this crawl has seen
Change = Literal["new", "changed", "unchanged", "duplicate"]


def classify(
    url: str,
    digest: str,
    known_hash: str | None,
    first_url_this_crawl: str | None,
    canonical_url_before: str | None,
) -> tuple[Change, str | None]:
    """(change, duplicate_of). Same hash as this URL had before -> unchanged; the same text
    already under another URL (this crawl, or before) -> duplicate; else new or changed. A page
    without text is never a duplicate."""
    if known_hash == digest:
        return "unchanged", None
    if digest != EMPTY:
        if first_url_this_crawl and first_url_this_crawl != url:
            return "duplicate", first_url_this_crawl
        if canonical_url_before and canonical_url_before != url:
            return "duplicate", canonical_url_before
    return ("new", None) if known_hash is None else ("changed", None)

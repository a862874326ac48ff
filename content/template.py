"""Site template: text blocks that repeat across many of a domain's pages, learned per domain.

A crawler sees every page of a site, so the blocks that the page-level extractors keep but that
recur on a large share of the domain's pages (navigation, footers, cookie and newsletter
blocks, promotional bars, "related products" cards) are the site's template. Each block of
text (one paragraph, list item, table row... of the extracted text) is keyed by an XXH3-64 of
its lower-cased words with volatile parts masked; the domain keeps how many page observations
contained each key. A block is template when, with at least MIN_PAGES pages observed, it was on
at least MIN_COUNT pages and on at least MIN_SHARE of them. Blocks of fewer than MIN_WORDS words
are never template: "In stock", "Material | Cotton" or "Add to cart" repeat on every product
page and are facts of the page.

Stored in `domain_patterns` (pattern_type 'template'): selectors = {"pages": N, "blocks":
{key: count}}, at most MAX_BLOCKS keys (the most frequent; keys seen once are dropped), loaded
when a crawl opens and saved when it closes. Counts grow with every page fetched (200) in every
crawl; when the page count passes MAX_PAGES all counts are halved, so an old template fades.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import xxhash

from content.volatile import mask_volatile

PATTERN_TYPE = "template"
MIN_PAGES = 5
MIN_COUNT = 3
MIN_SHARE = 0.1
MIN_WORDS = 4
MAX_BLOCKS = 5000
MAX_PAGES = 20000
_WORD = re.compile(r"\w+", re.UNICODE)


def _words(text: str) -> list[str]:
    return _WORD.findall(mask_volatile(text).lower())


def _masked_words(masked: str) -> list[str]:
    return _WORD.findall(masked.lower())


def _key(words: list[str]) -> str:
    return xxhash.xxh3_64_hexdigest(" ".join(words).encode("utf-8"))


def block_key(text: str) -> str:
    """The block's key: XXH3-64 of its lower-cased words, volatile parts masked."""
    return _key(_words(text))


def keyed_blocks(blocks: Iterable[str], masked: bool = False) -> list[tuple[str, int]]:
    """(key, number of words) of each block, in order (`masked`: volatile parts already masked)."""
    split = _masked_words if masked else _words
    return [(_key(words), len(words)) for words in map(split, blocks)]


def same_content(before: Sequence[str], now: Sequence[str], template: SiteTemplate) -> bool:
    """Whether two versions of a page (their block keys, in order) differ only in template
    blocks, judged with the template as known now: a page fingerprinted before its template
    was learned still compares equal."""
    return [k for k in before if not template.is_template(k)] == [
        k for k in now if not template.is_template(k)
    ]


@dataclass
class SiteTemplate:
    pages: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    observed: int = 0  # pages observed since loaded (not stored)

    def observe(self, blocks: Iterable[str]) -> None:
        """Count one page's blocks (each key once per page)."""
        self.observe_keyed(keyed_blocks(blocks))

    def observe_keyed(self, keyed: Iterable[tuple[str, int]]) -> None:
        self.pages += 1
        self.observed += 1
        for key in {key for key, words in keyed if words >= MIN_WORDS}:
            self.counts[key] = self.counts.get(key, 0) + 1
        if self.pages > MAX_PAGES:
            self.pages //= 2
            self.counts = {k: c // 2 for k, c in self.counts.items() if c // 2}

    def is_template(self, key: str) -> bool:
        """Short blocks are never counted, so never template."""
        if self.pages < MIN_PAGES:
            return False
        count = self.counts.get(key, 0)
        return count >= MIN_COUNT and count >= MIN_SHARE * self.pages

    def strip(self, blocks: Iterable[str]) -> list[str]:
        """The blocks that are not template, in order."""
        return [b for b in blocks if not self.is_template(block_key(b))]

    def to_json(self) -> dict[str, Any]:
        kept = sorted(
            ((k, c) for k, c in self.counts.items() if c >= 2), key=lambda kc: (-kc[1], kc[0])
        )[:MAX_BLOCKS]
        return {"pages": self.pages, "blocks": dict(kept)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> SiteTemplate:
        data = data or {}
        blocks = data.get("blocks") or {}
        return cls(
            pages=int(data.get("pages") or 0), counts={str(k): int(c) for k, c in blocks.items()}
        )

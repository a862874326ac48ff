"""Whether a page is content or navigation, from its structure (pure; the extract step calls
it, the store writes it on the page as `metadata.structure`, and `core.knowledge.page_kind`
turns it into `metadata.page_kind`). The embed job embeds only `content` pages
(workers/embed_job.py), so indexes, tables of contents, tag clouds and sitemaps rendered as
HTML are crawled and their links followed, but cannot outrank answers.

Navigation is recognised from structure, in the page's main container (after the walker has
dropped menus and footers), by any of:
- most of its text is link text (`LINK_TEXT_SHARE`): indexes, tables of contents;
- it is a list of entries (list items, table rows, definition terms) that nearly all lead with
  a link and carry most of the text: module indexes ("name - one-line synopsis");
- it is many links with almost no text around them (an A-Z letter bar).
A page with fewer than `MIN_LINKS` links is never navigation.

Measured on Debian's Python 3.11 HTML docs (530 pages; the rule was tuned there): 74 pages are
navigation (`genindex-*`, `contents`, `py-modindex`, the section index pages), no reference or
tutorial page. On real pages of other sites (wcxb-dev), see docs/crawling.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.knowledge import CONTENT, NAVIGATION

MIN_LINKS = 20  # fewer links than this: never an index
LINK_TEXT_SHARE = 0.5
MIN_ENTRIES = 20
ENTRIES_LED_BY_LINKS = 0.8
ENTRY_TEXT_SHARE = 0.6
BAR_CHARS_PER_LINK = 12
ENTRY_TAGS = ("li", "tr", "dt")


@dataclass(frozen=True)
class Structure:
    chars: int  # text characters of the main container
    links: int
    link_chars: int  # of them, inside links
    entries: int  # innermost list items, table rows, definition terms
    led_entries: int  # entries whose first text is a link
    led_chars: int  # text characters of those entries

    @property
    def kind(self) -> str:
        chars = max(1, self.chars)
        if self.links < MIN_LINKS:
            return CONTENT
        if self.link_chars / chars >= LINK_TEXT_SHARE:
            return NAVIGATION
        if (
            self.entries >= MIN_ENTRIES
            and self.led_entries / self.entries >= ENTRIES_LED_BY_LINKS
            and self.led_chars / chars >= ENTRY_TEXT_SHARE
        ):
            return NAVIGATION
        if chars / self.links < BAR_CHARS_PER_LINK:
            return NAVIGATION
        return CONTENT


def _length(el: Any) -> int:
    return len(" ".join(el.text_content().split()))


def _leads_with_link(entry: Any) -> bool:
    if (entry.text or "").strip():
        return False
    for node in entry.iterdescendants():
        if not isinstance(node.tag, str):
            continue
        if (node.text or "").strip():
            while node is not None and node is not entry:
                if node.tag == "a" and node.get("href"):
                    return True
                node = node.getparent()
            return False
        if (node.tail or "").strip():
            return False
    return False


def structure(main: Any) -> Structure:
    """The link structure of a page's main container (an lxml element)."""
    anchors = [a for a in main.iter("a") if a.get("href")]
    entries = [
        e for e in main.iter(*ENTRY_TAGS) if not any(True for _ in e.iterdescendants(*ENTRY_TAGS))
    ]
    led = [e for e in entries if _leads_with_link(e)]
    return Structure(
        _length(main),
        len(anchors),
        sum(_length(a) for a in anchors),
        len(entries),
        len(led),
        sum(_length(e) for e in led),
    )

"""The page of a document (PDF) each chunk starts on (pure).

The crawl stores a document's text with `page_starts`, the offset in the text where each page
begins. A chunk's text is its document's text re-joined (and may start with the previous
chunk's overlap), so it is found in the text with whitespace collapsed, searching forward from
where the previous chunk started; a chunk that is not found (the title line the embed job puts
before the text) keeps the page of the chunk before it.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import replace

from content.chunking import Chunk

KEY_CHARS = 80
_SPACE = re.compile(r"\s+")


def collapse(text: str) -> tuple[str, list[int]]:
    """`text` with every whitespace run as one space, and each of its characters' offset in
    `text`."""
    out: list[str] = []
    offsets: list[int] = []
    position = 0
    for match in _SPACE.finditer(text):
        for i in range(position, match.start()):
            out.append(text[i])
            offsets.append(i)
        if out and match.end() < len(text):
            out.append(" ")
            offsets.append(match.start())
        position = match.end()
    for i in range(position, len(text)):
        out.append(text[i])
        offsets.append(i)
    return "".join(out), offsets


def _keys(chunk_text: str) -> list[str]:
    """What to look for: the chunk's start, then the start of its second block (after a title
    line that is not part of the stored text)."""
    keys = [" ".join(chunk_text.split())[:KEY_CHARS]]
    if "\n\n" in chunk_text:
        keys.append(" ".join(chunk_text.split("\n\n", 1)[1].split())[:KEY_CHARS])
    return [k for k in keys if k]


def chunk_start_pages(chunk_texts: list[str], content: str, page_starts: list[int]) -> list[int]:
    """1-based page each chunk starts on."""
    flat, offsets = collapse(content)
    cursor, page, pages = 0, 1, []
    for text in chunk_texts:
        for key in _keys(text):
            found = flat.find(key, cursor)
            if found >= 0:
                cursor = found
                page = max(1, bisect_right(page_starts, offsets[found]))
                break
        pages.append(page)
    return pages


def with_pages(chunks: list[Chunk], content: str, page_starts: list[int]) -> list[Chunk]:
    pages = chunk_start_pages([c.text for c in chunks], content, page_starts)
    return [replace(c, page=p) for c, p in zip(chunks, pages, strict=False)]

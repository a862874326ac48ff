"""Token-aware chunking of a page's markdown or text (pure; cl100k_base, offline).

A page is split into sections at headings and into paragraphs at blank lines; paragraphs are
packed into chunks of about `chunk_tokens`. A chunk never spans a heading unless the section
before it is tiny (under a quarter of a chunk), and each chunk carries its heading path. A
chunk that continues a long section starts with the last `overlap_tokens` of the previous one.
Paragraphs too long for one chunk are split at sentences, then words, then tokens. No chunk
exceeds `max_tokens` (the model's input limit), counted exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import xxhash

from workers import tokens

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+")
_WORD_BREAK = re.compile(r"(?<=\s)(?=\S)")
_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class Chunk:
    text: str
    heading_path: tuple[str, ...]
    index: int
    token_count: int
    hash: str
    page: int | None = None  # documents: the page the chunk starts on (workers/chunk_pages.py)
    embed_text: str | None = None  # the text whose vector it gets, when not its own (db/knowledge.py)


@dataclass
class _Piece:
    text: str
    tokens: int
    path: tuple[str, ...]
    section: int


def chunk_hash(text: str) -> str:
    return xxhash.xxh3_128_hexdigest(text.encode("utf-8"))


def effective_sizes(chunk_tokens: int, overlap_tokens: int, max_tokens: int) -> tuple[int, int]:
    """(body, overlap) token budgets such that body + overlap <= max_tokens."""
    if max_tokens < 8:
        raise ValueError("max_tokens must be at least 8")
    body = max(1, min(chunk_tokens, max_tokens))
    overlap = max(0, min(overlap_tokens, body // 2))
    if body + overlap > max_tokens:
        body = max_tokens - overlap
    return body, overlap


def chunk_document(text: str, chunk_tokens: int = 500, overlap_tokens: int = 60,
                   max_tokens: int = 8191) -> list[Chunk]:
    body_budget, overlap = effective_sizes(chunk_tokens, overlap_tokens, max_tokens)
    pieces = _split_pieces(_blocks(text or ""), body_budget)
    chunks: list[tuple[str, tuple[str, ...]]] = []
    current: list[_Piece] = []
    current_tokens = 0
    previous_body: str | None = None   # text of the previous chunk (for overlap), same section

    def flush() -> None:
        nonlocal current, current_tokens, previous_body
        if not current:
            return
        body = _SEPARATOR.join(p.text for p in current)
        path = _common_prefix([p.path for p in current])
        prefix = _tail(previous_body, overlap) if previous_body is not None and overlap else ""
        chunks.append(((prefix + _SEPARATOR + body) if prefix else body, path))
        previous_body = body
        current, current_tokens = [], 0

    for piece in pieces:
        if current:
            new_section = piece.section != current[-1].section
            too_big = current_tokens + 1 + piece.tokens > body_budget
            if new_section and current_tokens >= body_budget // 4 or too_big:
                continues_section = not new_section
                flush()
                if not continues_section:
                    previous_body = None
        current.append(piece)
        current_tokens += piece.tokens + (1 if len(current) > 1 else 0)
    flush()

    result: list[Chunk] = []
    for body, path in chunks:
        for part in _enforce_limit(body, max_tokens):
            result.append(Chunk(part, path, len(result), tokens.count_tokens(part), chunk_hash(part)))
    return result


# --------------------------------------------------------------------------- parsing


def _blocks(text: str) -> list[tuple[str, tuple[str, ...], int]]:
    """(paragraph text, heading path, section number) in document order."""
    blocks: list[tuple[str, tuple[str, ...], int]] = []
    stack: list[tuple[int, str]] = []
    section = 0
    paragraph: list[str] = []
    in_fence = False

    def end_paragraph() -> None:
        if paragraph:
            joined = "\n".join(paragraph).strip()
            if joined:
                blocks.append((joined, tuple(t for _, t in stack), section))
            paragraph.clear()

    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
            paragraph.append(line)
            continue
        heading = None if in_fence else _HEADING.match(line)
        if heading:
            end_paragraph()
            level, title = len(heading.group(1)), heading.group(2).strip()
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            section += 1
            blocks.append((line.strip(), tuple(t for _, t in stack), section))
        elif not line.strip() and not in_fence:
            end_paragraph()
        else:
            paragraph.append(line)
    end_paragraph()
    return blocks


def _split_pieces(blocks: list[tuple[str, tuple[str, ...], int]], budget: int) -> list[_Piece]:
    counts = tokens.count_many([b[0] for b in blocks]) if blocks else []
    pieces: list[_Piece] = []
    for (text, path, section), count in zip(blocks, counts):
        if count <= budget:
            pieces.append(_Piece(text, count, path, section))
        else:
            pieces.extend(_Piece(t, c, path, section) for t, c in _split_long(text, budget))
    return pieces


def _split_long(text: str, budget: int) -> list[tuple[str, int]]:
    """Split at sentences, then at words, then at tokens; pack parts back up to `budget`."""
    parts: list[tuple[str, int]] = []
    for sentence in _SENTENCE_END.split(text):
        count = tokens.count_tokens(sentence)
        if count <= budget:
            parts.append((sentence, count))
            continue
        for word in _WORD_BREAK.split(sentence):
            word_count = tokens.count_tokens(word)
            if word_count <= budget:
                parts.append((word, word_count))
            else:
                ids = tokens.encode(word)
                parts.extend((tokens.decode(ids[i:i + budget]), len(ids[i:i + budget]))
                             for i in range(0, len(ids), budget))
    packed: list[tuple[str, int]] = []
    buffer, buffer_tokens = "", 0
    for part, count in parts:
        joiner = "" if not buffer or buffer.endswith((" ", "\n", "\t")) else " "
        if buffer and buffer_tokens + count + 1 > budget:
            packed.append((buffer.strip(), buffer_tokens))
            buffer, buffer_tokens, joiner = "", 0, ""
        buffer += joiner + part
        buffer_tokens += count + (1 if joiner else 0)
    if buffer.strip():
        packed.append((buffer.strip(), buffer_tokens))
    return [(t, tokens.count_tokens(t)) for t, _ in packed if t]


def _tail(text: str, overlap: int) -> str:
    ids = tokens.encode(text)
    if len(ids) <= overlap:
        return text
    tail = tokens.decode(ids[-overlap:])
    if tail and not tail[0].isspace():
        # start at a word boundary rather than inside a word
        cut = re.search(r"\s", tail)
        if cut:
            tail = tail[cut.start():]
    return tail.strip()


def _common_prefix(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    first = paths[0]
    length = len(first)
    for path in paths[1:]:
        length = min(length, len(path))
        for i in range(length):
            if path[i] != first[i]:
                length = i
                break
    return first[:length]


def _enforce_limit(text: str, max_tokens: int) -> list[str]:
    """Exact guard: separators and overlap can shift counts by a token or two."""
    ids = tokens.encode(text)
    if len(ids) <= max_tokens:
        return [text]
    parts = []
    for start in range(0, len(ids), max_tokens):
        part = tokens.decode(ids[start:start + max_tokens])
        while tokens.count_tokens(part) > max_tokens:  # decoding can re-merge differently
            part = part[:-1]
        parts.append(part)
    return parts

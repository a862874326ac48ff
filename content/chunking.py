"""Token-aware chunking of a page's Markdown (pure; cl100k_base, offline).

The Markdown is read as blocks: heading lines, paragraphs (blank lines part them), fenced code,
tables (consecutive `|` rows) and lists (consecutive items). Headings give every block its
heading path. Blocks are packed into chunks of at most `chunk_tokens`:

- a new section starts a new chunk unless the chunk so far is tiny (under a quarter of a
  chunk: FAQ-style pages of tiny sections are not cut into crumbs);
- code blocks and tables stay whole up to the model's input limit; longer ones are cut at
  lines (a table's parts each start with its header row), paragraphs at sentences, lists at
  items;
- boundaries follow the content, not the running count: a section that is not tiny always
  ends its chunk, and inside a section a full chunk ends at the place with the lowest hash
  among those that leave it not tiny (a place is named by the block after it). The places a
  chunk can end at depend only on the text from its start, so an edit moves a boundary only
  when the place chosen falls out of the window, and the chunks after an unmoved boundary are
  the same as before: a one-sentence edit changes one chunk, sometimes two, where filling
  chunks to the brim moved every later boundary of the section (docs/workers.md, figures);
- only a chunk that continues a cut paragraph starts with the last `overlap_tokens` of the
  previous one (a paragraph boundary needs no overlap: the context line says where it is).

Each chunk's stored text is clean Markdown: no pilcrows or permalink markers, links as their
text. The text that is embedded (`Chunk.embedding_text`) is the context line (the page title
and the section path) and then that text; the chunk's hash and token count are those of the
embedded text, so a renamed section is re-embedded. Nothing exceeds `max_tokens`, counted
exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import xxhash

from content import tokens

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_TABLE_ROW = re.compile(r"^\s*\|")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+\S")
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+")
_WORD_BREAK = re.compile(r"(?<=\s)(?=\S)")
# a permalink: a link whose text is only a marker (Sphinx's ¶, GitHub's #, 🔗, §) or says so
_PERMALINK = re.compile(
    r"\[\s*(?:¶|§|#|🔗|⚓|link|permalink[^\]]*)\s*\]\([^)\s]*(?:\s+\"[^\"]*\")?\)", re.IGNORECASE
)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\)")
_MARKERS = re.compile(r"[ \t]*[¶🔗⚓]")
_SEPARATOR = "\n\n"
CONTEXT_SEPARATOR = " > "
_HASH_SPACE = float(1 << 64)
LEAD_TOKENS = 30
PLACE_WORDS = 8


@dataclass(frozen=True)
class Chunk:
    text: str  # stored and shown: clean Markdown
    heading_path: tuple[str, ...]
    index: int
    token_count: int  # of embedding_text
    hash: str  # of embedding_text
    page: int | None = None  # documents: the page the chunk starts on (workers/chunk_pages.py)
    context: str = ""  # the page title and section path, embedded before the text
    embed_text: str | None = (
        None  # the text whose vector it gets, when not its own (db/knowledge.py)
    )

    @property
    def embedding_text(self) -> str:
        if self.embed_text is not None:
            return self.embed_text
        return embedding_text(self.context, self.text)


@dataclass(frozen=True)
class _Block:
    text: str
    kind: str  # heading, text, code, table, list
    path: tuple[str, ...]
    section: int


@dataclass(frozen=True)
class _Unit:
    text: str
    tokens: int
    block: int  # the block it is (part of)
    kind: str
    path: tuple[str, ...]
    section: int
    header: str = ""  # a table's header row, repeated when a chunk starts mid-table


def chunk_hash(text: str) -> str:
    return xxhash.xxh3_128_hexdigest(text.encode("utf-8"))


def embedding_text(context: str, text: str) -> str:
    return f"{context}{_SEPARATOR}{text}" if context else text


def effective_sizes(chunk_tokens: int, overlap_tokens: int, max_tokens: int) -> tuple[int, int]:
    """(body, overlap) token budgets such that body + overlap <= max_tokens."""
    if max_tokens < 8:
        raise ValueError("max_tokens must be at least 8")
    body = max(1, min(chunk_tokens, max_tokens))
    overlap = max(0, min(overlap_tokens, body // 2))
    if body + overlap > max_tokens:
        body = max_tokens - overlap
    return body, overlap


def clean_inline(text: str) -> str:
    """Markdown of a non-code block without permalink markers; links and images as their text."""
    text = _PERMALINK.sub("", text)
    text = _IMAGE.sub(lambda m: m.group(1), text)
    text = _LINK.sub(lambda m: m.group(1), text)
    return _MARKERS.sub("", text).strip()


def context_line(title: str | None, path: tuple[str, ...]) -> str:
    """The page title and the section path ("Title > Section > Subsection"); the title is left
    out when the path's root already says it (or the other way round)."""
    parts = list(path)
    title = clean_inline(" ".join((title or "").split()))
    if title:
        root = parts[0].casefold() if parts else ""
        if root and root in title.casefold():
            parts[0] = title
        elif not root or title.casefold() not in root:
            parts.insert(0, title)
    return CONTEXT_SEPARATOR.join(parts)


def chunk_document(
    text: str,
    chunk_tokens: int = 500,
    overlap_tokens: int = 60,
    max_tokens: int = 8191,
    title: str | None = None,
) -> list[Chunk]:
    body_budget, overlap = effective_sizes(chunk_tokens, overlap_tokens, max_tokens)
    blocks = _blocks(text or "")
    contexts: dict[tuple[str, ...], tuple[str, int]] = {}

    def context(path: tuple[str, ...]) -> tuple[str, int]:
        if path not in contexts:
            line = _fit_context(context_line(title, path), max_tokens // 4)
            contexts[path] = (line, tokens.count_tokens(line + _SEPARATOR) if line else 0)
        return contexts[path]

    room = {b.path: max(1, max_tokens - overlap - context(b.path)[1]) for b in blocks}
    units = _units(blocks, body_budget, room)
    packed = _pack(units, body_budget)

    result: list[Chunk] = []
    previous: list[_Unit] = []
    for group in packed:
        body = _join(group)
        first = group[0]
        if previous and previous[-1].block == first.block:
            if first.kind == "table" and first.header and first.text != first.header:
                body = f"{first.header}\n{body}"
            elif first.kind == "text" and overlap:
                body = f"{_tail(_join(previous), overlap)}{_SEPARATOR}{body}"
        previous = group
        path = _common_prefix([u.path for u in group])
        line, line_tokens = context(path)
        for part in _enforce_limit(body, max_tokens - line_tokens):
            embedded = embedding_text(line, part)
            count = tokens.count_tokens(embedded)
            while count > max_tokens:  # a token merged across the separator: rare, one char off
                part = part[:-1]
                embedded = embedding_text(line, part)
                count = tokens.count_tokens(embedded)
            result.append(Chunk(part, path, len(result), count, chunk_hash(embedded), context=line))
    return result


# --------------------------------------------------------------------------- parsing


def _blocks(text: str) -> list[_Block]:
    """The Markdown's blocks in document order, each with its heading path and section number."""
    blocks: list[_Block] = []
    stack: list[tuple[int, str]] = []
    section = 0
    paragraph: list[str] = []
    fence: list[str] | None = None

    def path() -> tuple[str, ...]:
        return tuple(t for _, t in stack)

    def add(body: str, kind: str) -> None:
        previous = blocks[-1] if blocks else None
        if (
            kind in ("table", "list")
            and previous
            and previous.kind == kind
            and previous.section == section
        ):  # rows and items the extractor set apart
            blocks[-1] = _Block(f"{previous.text}\n{body}", kind, previous.path, section)
        else:
            blocks.append(_Block(body, kind, path(), section))

    def end_paragraph() -> None:
        lines = [line.rstrip() for line in paragraph if line.strip()]
        paragraph.clear()
        if not lines:
            return
        if all(_TABLE_ROW.match(line) for line in lines):
            kind = "table"
        elif _LIST_ITEM.match(lines[0]):
            kind = "list"
        else:
            kind = "text"
        body = "\n".join(cleaned for line in lines if (cleaned := clean_inline(line)))
        if body:
            add(body, kind)

    for line in text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").split("\n"):
        if fence is not None:
            fence.append(line)
            if _FENCE.match(line):
                code = "\n".join(fence)
                if "\n".join(fence[1:-1]).strip():
                    blocks.append(_Block(code, "code", path(), section))
                fence = None
            continue
        if _FENCE.match(line):
            end_paragraph()
            fence = [line.strip()]
            continue
        heading = _HEADING.match(line)
        if heading:
            end_paragraph()
            level, title = len(heading.group(1)), clean_inline(heading.group(2))
            if not title:
                continue
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            section += 1
            blocks.append(_Block(f"{'#' * level} {title}", "heading", path(), section))
        elif not line.strip():
            end_paragraph()
        else:
            paragraph.append(line)
    end_paragraph()
    if fence is not None and "\n".join(fence[1:]).strip():  # an unclosed fence keeps its text
        blocks.append(_Block("\n".join(fence + [fence[0]]), "code", path(), section))
    return blocks


def _units(blocks: list[_Block], budget: int, room: dict[tuple[str, ...], int]) -> list[_Unit]:
    """Blocks as packing units: whole when they fit (code and tables up to the input limit),
    else their lines, items or sentences."""
    counts = tokens.count_many([b.text for b in blocks]) if blocks else []
    units: list[_Unit] = []
    for number, (block, count) in enumerate(zip(blocks, counts, strict=False)):
        whole_limit = room[block.path] if block.kind in ("code", "table") else budget
        if count <= whole_limit:
            units.append(_Unit(block.text, count, number, block.kind, block.path, block.section))
            continue
        header = block.text.split("\n", 1)[0] if block.kind == "table" else ""
        limit = budget - (tokens.count_tokens(header) + 1 if header else 0)
        if block.kind == "text":
            parts = _split_long(block.text, limit)
        else:
            parts = _split_lines(block.text, limit)
        units.extend(
            _Unit(t, c, number, block.kind, block.path, block.section, header) for t, c in parts
        )
    return units


def _pack(units: list[_Unit], budget: int) -> list[list[_Unit]]:
    """Chunks of consecutive units. From a chunk's first unit, the end is the next section's
    start (unless the chunk so far and the section it ends are both tiny), else, when the budget
    is reached, the place with the lowest hash among those that leave the chunk not tiny and do
    not follow a lead."""
    small = budget // 4
    section_size: dict[int, int] = {}
    for unit in units:
        section_size[unit.section] = section_size.get(unit.section, 0) + unit.tokens
    chunks: list[list[_Unit]] = []
    start, count = 0, len(units)
    while start < count:
        size = units[start].tokens
        places: list[int] = []
        end = start + 1
        while end < count:
            unit = units[end]
            if unit.section != units[end - 1].section and (
                size >= small or section_size[units[end - 1].section] >= small
            ):
                end = _before_leads(units, start, end, headings_only=True)
                break
            if size + 1 + unit.tokens > budget:
                if size >= small and not _is_lead(units[end - 1]):
                    places.append(end)  # before the unit that does not fit: its growth keeps it
                # ties (blocks opening alike) go to the latest place: the fullest chunk
                end = (
                    min(places, key=lambda place: (_draw(units[place]), -place))
                    if places
                    else _before_leads(units, start, end)
                )
                break
            if size >= small and not _is_lead(units[end - 1]):
                places.append(end)
            size += 1 + unit.tokens
            end += 1
        chunks.append(units[start:end])
        start = end
    return chunks


def _is_lead(unit: _Unit) -> bool:
    """A heading, or a short line that introduces what follows (a definition's term, "Note:"):
    it never ends a chunk."""
    return unit.kind == "heading" or (
        unit.kind == "text"
        and unit.tokens <= LEAD_TOKENS
        and not unit.text.rstrip().endswith((".", "!", "?", '"'))
    )


def _before_leads(units: list[_Unit], start: int, end: int, headings_only: bool = False) -> int:
    """`end` moved before the leads that end the chunk: they go with what they introduce (at a
    section's end, only the headings of empty sections: they introduce the next one)."""
    cut = end
    while cut - 1 > start and (
        units[cut - 1].kind == "heading" if headings_only else _is_lead(units[cut - 1])
    ):
        cut -= 1
    return cut


def _draw(unit: _Unit) -> float:
    """The place before `unit`, named by the unit's opening words: an edit further into the
    block leaves it."""
    key = " ".join(unit.text.split()[:PLACE_WORDS])
    return xxhash.xxh3_64_intdigest(key.encode("utf-8")) / _HASH_SPACE


def _join(units: list[_Unit]) -> str:
    out = units[0].text
    for previous, unit in zip(units, units[1:], strict=False):
        if unit.block != previous.block:
            out += _SEPARATOR + unit.text
        else:
            out += (" " if unit.kind == "text" else "\n") + unit.text
    return out


def _split_lines(text: str, budget: int) -> list[tuple[str, int]]:
    """A code block, table or list cut at its lines (a line too long at words)."""
    parts: list[tuple[str, int]] = []
    for line in text.split("\n"):
        count = tokens.count_tokens(line)
        parts.extend([(line, count)] if count <= budget else _split_long(line, budget))
    return parts


def _split_long(text: str, budget: int) -> list[tuple[str, int]]:
    """Sentences (a sentence too long at words, then tokens), each within `budget`."""
    parts: list[tuple[str, int]] = []
    for sentence in _SENTENCE_END.split(text):
        count = tokens.count_tokens(sentence)
        if count <= budget:
            parts.append((sentence, count))
            continue
        buffer, buffer_tokens = "", 0
        for word in _WORD_BREAK.split(sentence):
            word_count = tokens.count_tokens(word)
            if word_count > budget:
                if buffer.strip():
                    parts.append((buffer.strip(), buffer_tokens))
                buffer, buffer_tokens = "", 0
                ids = tokens.encode(word)
                parts.extend(
                    (tokens.decode(ids[i : i + budget]), len(ids[i : i + budget]))
                    for i in range(0, len(ids), budget)
                )
                continue
            if buffer and buffer_tokens + word_count > budget:
                parts.append((buffer.strip(), buffer_tokens))
                buffer, buffer_tokens = "", 0
            buffer += word
            buffer_tokens += word_count
        if buffer.strip():
            parts.append((buffer.strip(), buffer_tokens))
    return [(t, tokens.count_tokens(t)) for t, _ in parts if t.strip()]


def _fit_context(line: str, limit: int) -> str:
    """A context line within `limit` tokens: the outer headings go first, then it is cut."""
    parts = line.split(CONTEXT_SEPARATOR) if line else []
    while len(parts) > 1 and tokens.count_tokens(CONTEXT_SEPARATOR.join(parts)) > limit:
        parts.pop(0)
    line = CONTEXT_SEPARATOR.join(parts)
    if tokens.count_tokens(line) > limit:
        line = tokens.decode(tokens.encode(line)[:limit])
    return line


def _tail(text: str, overlap: int) -> str:
    ids = tokens.encode(text)
    if len(ids) <= overlap:
        return text
    tail = tokens.decode(ids[-overlap:])
    if tail and not tail[0].isspace():
        # start at a word boundary rather than inside a word
        cut = re.search(r"\s", tail)
        if cut:
            tail = tail[cut.start() :]
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
    max_tokens = max(1, max_tokens)
    ids = tokens.encode(text)
    if len(ids) <= max_tokens:
        return [text]
    parts = []
    for start in range(0, len(ids), max_tokens):
        part = tokens.decode(ids[start : start + max_tokens])
        while tokens.count_tokens(part) > max_tokens:  # decoding can re-merge differently
            part = part[:-1]
        if part.strip():
            parts.append(part)
    return parts

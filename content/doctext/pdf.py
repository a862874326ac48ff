"""PDF text with pypdfium2 (PDFium, the engine of Chromium's viewer): text per page, lines
rebuilt into paragraphs, headings from the outline or else from font sizes, and the offset in
the text where every page starts (search results link to `#page=N`). docs/crawling.md has the
measurements that chose it over pypdf and pdfminer.six."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from content.doctext.model import DocumentError, DocumentText

HEADING_RATIO = 1.15  # a line this much larger than the body text is a heading
HEADING_MAX_CHARS = 120
MAX_HEADING_LEVELS = 3
_CONTROL = re.compile(r"[\x00-\x01\x03-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_LETTER = re.compile(r"[^\W\d_]")
_BULLET = re.compile(r"^\s*([•\-–*▪◦]|\(?\d{1,3}[.)])\s")


@dataclass
class Line:
    text: str
    size: float
    page: int  # 0-based


def open_pdf(body: bytes) -> pdfium.PdfDocument:
    if b"%PDF-" not in body[:1024]:
        raise DocumentError("not a PDF: the file does not start with %PDF-")
    try:
        return pdfium.PdfDocument(body)
    except pdfium.PdfiumError as exc:
        raise DocumentError(open_failure(str(exc), body)) from None


def open_failure(message: str, body: bytes) -> str:
    """The recorded reason PDFium could not open a file (pure)."""
    text = message.lower()
    if "password" in text:
        return "encrypted: the PDF needs a password to open"
    if b"%%EOF" not in body[-2048:]:
        return f"truncated: the PDF ends before its end-of-file marker ({len(body)} bytes)"
    return f"corrupt: PDFium cannot read the PDF ({message.strip().rstrip('.')})"


def extract_pdf(body: bytes, max_pages: int) -> DocumentText:
    doc = open_pdf(body)
    try:
        total = len(doc)
        if total == 0:
            raise DocumentError("empty: the PDF has no pages")
        pages = min(total, max(1, max_pages))
        lines: list[Line] = []
        for index in range(pages):
            lines.extend(_page_lines(doc, index))
        toc = _outline(doc)
        title = (doc.get_metadata_dict().get("Title") or "").strip() or None
    finally:
        doc.close()
    with_text = {line.page for line in lines if line.text.strip()}
    if not with_text:
        raise DocumentError(
            f"scanned: no text layer on any of its {total} pages (image-only PDF; OCR is not done)"
        )
    result = build_text(lines, pages, toc)
    result.title = title or (result.headings[0]["text"] if result.headings else None)
    result.pages_total = total
    result.pages_without_text = [p + 1 for p in range(pages) if p not in with_text]
    return result


def _page_lines(doc: pdfium.PdfDocument, index: int) -> list[Line]:
    page = doc[index]
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        text = textpage.get_text_range(0, count) if count > 0 else ""
        out = []
        offset = 0
        for raw_line in text.split("\n"):
            line = raw_line.rstrip("\r")
            stripped = line.lstrip()
            first = min(offset + len(line) - len(stripped), max(0, count - 1))
            size = pdfium_c.FPDFText_GetFontSize(textpage.raw, first) if stripped else 0.0
            out.append(Line(_CONTROL.sub("", line).strip(), float(size), index))
            offset += len(raw_line) + 1
        return out
    finally:
        textpage.close()
        page.close()


def _outline(doc: pdfium.PdfDocument) -> dict[tuple[int, str], int]:
    """(page index, normalised title) -> level, from the PDF's bookmarks."""
    out: dict[tuple[int, str], int] = {}
    try:
        for item in doc.get_toc(max_depth=MAX_HEADING_LEVELS):
            dest, title = item.get_dest(), item.get_title()
            index = dest.get_index() if dest is not None else None
            if index is not None and title:
                out[(index, _norm(title))] = item.level + 1
    except pdfium.PdfiumError:
        return {}
    return out


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def body_size(lines: list[Line]) -> float:
    """The font size most of the text is set in (weighted by characters)."""
    weights: dict[float, int] = {}
    for line in lines:
        if line.text and line.size > 0:
            key = round(line.size * 2) / 2
            weights[key] = weights.get(key, 0) + len(line.text)
    return max(weights, key=lambda k: (weights[k], -k)) if weights else 0.0


def heading_levels(
    lines: list[Line], body: float, toc: dict[tuple[int, str], int]
) -> dict[int, int]:
    """Line index -> heading level. The outline decides when the PDF has one; else lines set
    larger than the body text that read like titles (short, with letters, no final stop)."""
    levels: dict[int, int] = {}
    if toc:
        for i, line in enumerate(lines):
            level = toc.get((line.page, _norm(line.text)))
            if level:
                levels[i] = min(level, 6)
        return levels
    candidates = {
        i: round(line.size * 2) / 2
        for i, line in enumerate(lines)
        if body and line.size >= body * HEADING_RATIO and _title_like(line.text)
    }
    ranks = sorted(set(candidates.values()), reverse=True)
    return {i: min(ranks.index(size) + 1, MAX_HEADING_LEVELS) for i, size in candidates.items()}


def _title_like(text: str) -> bool:
    return (
        2 <= len(text) <= HEADING_MAX_CHARS
        and bool(_LETTER.search(text))
        and not text.endswith((".", ",", ";"))
    )


def build_text(
    lines: list[Line], pages: int, toc: dict[tuple[int, str], int] | None = None
) -> DocumentText:
    """Markdown from the lines of `pages` pages (pure): headings as `#` lines, wrapped lines
    joined into paragraphs, and the offset where each page's text starts."""
    levels = heading_levels(lines, body_size(lines), toc or {})
    blocks: list[tuple[int, str]] = []  # (page, markdown block)
    headings: list[dict[str, object]] = []
    paragraph: list[str] = []
    para_page = 0
    width = _page_widths(lines)

    def end_paragraph() -> None:
        if paragraph:
            blocks.append((para_page, _join(paragraph)))
            paragraph.clear()

    previous: Line | None = None
    for i, line in enumerate(lines):
        if previous is not None and line.page != previous.page:
            end_paragraph()
        if not line.text:
            end_paragraph()
            previous = line
            continue
        if i in levels:
            end_paragraph()
            headings.append({"level": levels[i], "text": line.text, "page": line.page + 1})
            blocks.append((line.page, f"{'#' * levels[i]} {line.text}"))
            previous = line
            continue
        if paragraph and (_BULLET.match(line.text) or _ends_paragraph(previous, width)):
            end_paragraph()
        if not paragraph:
            para_page = line.page
        paragraph.append(line.text)
        previous = line
    end_paragraph()

    parts: list[str] = []
    page_starts: list[int] = []
    offset = 0
    for page, block in blocks:
        while len(page_starts) <= page:
            page_starts.append(offset + (2 if parts else 0))
        if parts:
            offset += 2
        parts.append(block)
        offset += len(block)
    while len(page_starts) < pages:
        page_starts.append(offset)
    return DocumentText(
        format="pdf",
        text="\n\n".join(parts),
        headings=headings,
        page_starts=page_starts,
        pages=pages,
        pages_total=pages,
    )


def _page_widths(lines: list[Line]) -> dict[int, int]:
    widths: dict[int, int] = {}
    for line in lines:
        widths[line.page] = max(widths.get(line.page, 0), len(line.text))
    return widths


def _ends_paragraph(previous: Line | None, widths: dict[int, int]) -> bool:
    """A line ending a sentence well short of the page's full line width ends its paragraph."""
    if previous is None or not previous.text:
        return True
    short = len(previous.text) < 0.8 * widths.get(previous.page, 0)
    return short and previous.text.endswith((".", "!", "?", ":"))


def _join(lines: list[str]) -> str:
    out = ""
    for line in lines:
        if out.endswith("\x02"):  # PDFium marks a soft hyphen at a line end
            out = out[:-1] + line
        elif out.endswith("-") and len(out) > 1 and out[-2].isalpha() and line[:1].islower():
            out = out[:-1] + line  # a word hyphenated across lines
        else:
            out = f"{out} {line}" if out else line
    return out.replace("\x02", "")

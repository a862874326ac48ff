"""One entry point over the format readers: the text of a document in a sniffed format."""

from __future__ import annotations

from content.doctext.model import DocumentError, DocumentText
from content.doctext.office import extract_office, extract_plain
from content.doctext.pdf import extract_pdf


def extract_document(body: bytes, fmt: str, max_pages: int) -> DocumentText:
    """Text of a document in `fmt` (from `sniff_format`); DocumentError with the reason when it
    has none."""
    if fmt == "pdf":
        return extract_pdf(body, max_pages)
    if fmt in ("docx", "odt"):
        return extract_office(body, fmt)
    if fmt == "text":
        return extract_plain(body)
    raise DocumentError(f"not a supported document format: {fmt}")

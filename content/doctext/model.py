"""What a document extraction returns, format sniffing and the dispatch to the extractors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FORMATS = ("pdf", "docx", "odt", "text")
_MEDIA_TYPES = {
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.oasis.opendocument.text": "odt",
    "text/plain": "text",
    "text/markdown": "text",
    "text/csv": "text",
}
_EXTENSIONS = {
    "pdf": "pdf",
    "docx": "docx",
    "odt": "odt",
    "txt": "text",
    "md": "text",
    "csv": "text",
}
_HTML_STARTS = (
    b"<!doctype html",
    b"<html",
    b"<head",
    b"<body",
    b"<!--",
    b"<meta",
    b"<title",
    b"<div",
    b"<p>",
    b"<script",
)


class DocumentError(Exception):
    """The document has no text to store; the message is the recorded reason."""


@dataclass
class DocumentText:
    format: str
    text: str  # Markdown: headings as `#` lines, paragraphs separated by blank lines
    title: str | None = None
    headings: list[dict[str, Any]] = field(default_factory=list)
    page_starts: list[int] = field(default_factory=list)  # offset in `text` of each page (PDF)
    pages: int = 1  # pages whose text was extracted
    pages_total: int = 1  # pages the document has
    pages_without_text: list[int] = field(default_factory=list)  # 1-based
    language: str | None = None

    @property
    def truncated(self) -> bool:
        return self.pages < self.pages_total


def extension_format(url_path: str) -> str | None:
    name = url_path.lower().rsplit("/", 1)[-1]
    return _EXTENSIONS.get(name.rsplit(".", 1)[-1]) if "." in name else None


def looks_like_html(body: bytes) -> bool:
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(_HTML_STARTS)


def sniff_format(body: bytes, content_type: str | None, url_path: str) -> str | None:
    """The document format of a response, or "html", or None (not a document we read).

    The bytes decide where they can (`%PDF-`, a zip with the right parts, HTML markup), then the
    Content-Type, then the URL's extension."""
    head = body[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if looks_like_html(body):
        return "html"
    if head.startswith(b"PK\x03\x04"):
        if b"word/" in body[:65536] or b"[Content_Types].xml" in head:
            if b"opendocument.text" in head:
                return "odt"
            return "docx" if b"word/" in body[:65536] else None
        return "odt" if b"opendocument.text" in head else None
    media = (content_type or "").split(";")[0].strip().lower()
    if media in ("text/html", "application/xhtml+xml"):
        return "html"
    by_type = _MEDIA_TYPES.get(media)
    by_ext = extension_format(url_path)
    if by_type in ("pdf", "docx", "odt") or by_ext in ("pdf", "docx", "odt"):
        return by_type or by_ext  # says it is one, but the bytes are not: the extractor says why
    if by_type == "text" or (by_ext == "text" and media in ("", "application/octet-stream")):
        return "text"
    return None

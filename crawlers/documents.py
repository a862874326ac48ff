"""Documents the crawler fetches (PDF, DOCX, ODT, plain text) and what a response for one
becomes: a `document` item for `pipelines.documents`, or a `failed` item with the reason.

Pure: the spider calls these; tested in tests/content/test_doctext.py.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from content.doctext.model import extension_format, sniff_format
from crawlers.items import PageItem


def fetchable_document(url: str) -> bool:
    """A document link the crawler follows (others, e.g. spreadsheets, stay references)."""
    return extension_format(urlsplit(url).path) is not None


def file_name(url: str) -> str:
    return unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]) or url


def document_outcome(url: str, content_type: str, body: bytes, expected: bool) -> tuple[str, str]:
    """("document", format) or ("failed", reason) for a non-HTML response, or for any
    response to a request made for a document (`expected`)."""
    fmt = sniff_format(body, content_type, urlsplit(url).path)
    shown = content_type or "no Content-Type"
    if fmt == "html":
        return "failed", f"not a document: {file_name(url)} answered with HTML ({shown})"
    if fmt is None:
        if expected:
            return "failed", f"not a supported document: {shown}"
        return "failed", f"not HTML: {content_type or 'unknown'}"
    if not body:
        return "failed", f"empty: {file_name(url)} answered with no content"
    return "document", fmt


def document_item(
    base: PageItem,
    url: str,
    requested_url: str,
    content_type: str,
    body: bytes,
    expected: bool,
) -> PageItem:
    kind, detail = document_outcome(url, content_type, body, expected)
    if kind == "failed":
        item: PageItem = {**base, "kind": "failed", "error": detail}
        if expected:
            item["document"] = {"content_type": _expected_type(url)}
        return item
    document: PageItem = {
        **base,
        "kind": "document",
        "url": url,
        "requested_url": requested_url,
        "format": detail,
        "body": body,
        "media_type": content_type or None,
    }
    return document


def _expected_type(url: str) -> str | None:
    return extension_format(urlsplit(url).path)

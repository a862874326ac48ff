"""Documents: a `document` item (PDF, DOCX, ODT, plain text fetched by the spider) becomes a
`page` item with its extracted text, so hashing, storing and the workers treat it like a page;
or a `failed` item with the reason (encrypted, corrupt, truncated, scanned, ...).

Extraction runs on one worker thread: PDFium is not thread-safe, and the crawl's event loop
keeps downloading while a long manual is read.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from content.doctext import DocumentError, DocumentText, extract_document
from content.page_text import Extracted
from crawlers.crawl_stats import count
from crawlers.documents import file_name
from crawlers.items import PageItem

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def document_metadata(doc: DocumentText) -> dict[str, Any]:
    """What `scraped_pages.metadata` / `website_content.metadata` record about a document."""
    data: dict[str, Any] = {
        "content_type": doc.format,
        "document_format": doc.format,
        "pages": doc.pages,
        "pages_total": doc.pages_total,
    }
    if doc.format == "pdf":
        data["page_starts"] = doc.page_starts
    if doc.truncated:
        data["truncated"] = f"text of the first {doc.pages} of {doc.pages_total} pages"
    if doc.pages_without_text:
        data["pages_without_text"] = doc.pages_without_text
    return data


def to_page(item: PageItem, doc: DocumentText) -> PageItem:
    """The page item for an extracted document (pure)."""
    item.pop("body", None)
    title = doc.title or file_name(item["url"])
    item["kind"], item["html"], item["links"] = "page", None, []
    item["document"] = document_metadata(doc)
    item["extracted"] = Extracted(
        title=title,
        language=doc.language,
        headings=doc.headings,
        text=doc.text,
        markdown=doc.text,
    )
    return item


def to_failure(item: PageItem, reason: str) -> PageItem:
    item.pop("body", None)
    item["kind"], item["error"] = "failed", reason
    item["document"] = {"content_type": item.get("format")}
    return item


def read_document(body: bytes, fmt: str, max_pages: int) -> DocumentText | str:
    """The document's text, or the reason it has none (never raises)."""
    try:
        return extract_document(body, fmt, max_pages)
    except DocumentError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - a parser bug on hostile input is a bad file
        logger.warning("document extraction failed: %s: %s", type(exc).__name__, exc)
        return f"corrupt: {type(exc).__name__}: {exc}"[:500]


class DocumentPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_pages = crawler.settings.getint("OMNI_DOCUMENT_MAX_PAGES")
        self.executor: ThreadPoolExecutor | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DocumentPipeline:
        return cls(crawler)

    async def process_item(self, item: PageItem) -> PageItem:
        if item.get("kind") != "document":
            return item
        if self.executor is None:
            self.executor = ThreadPoolExecutor(1, thread_name_prefix="omni-documents")
        result = await asyncio.get_running_loop().run_in_executor(
            self.executor, read_document, item["body"], item["format"], self.max_pages
        )
        stats = self.crawler.stats
        if isinstance(result, str):
            count(stats, "documents_failed")
            return to_failure(item, result)
        count(stats, "documents_read")
        count(stats, "document_pages", result.pages)
        return to_page(item, result)

    def close_spider(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True)

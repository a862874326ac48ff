from __future__ import annotations

import pytest

from crawlers.crawl_stats import job_stats
from pipelines.documents import DocumentPipeline
from tests.pipelines.conftest import SITE, run_pipelines
from tests.support.crawler import site_crawler
from tests.support.documents import corrupt_pdf, manual_pdf


def document(name: str, body: bytes, fmt: str) -> dict:
    return {
        "kind": "document",
        "url": f"{SITE}/{name}",
        "requested_url": f"{SITE}/{name}",
        "format": fmt,
        "body": body,
        "depth": 1,
        "http_status": 200,
    }


@pytest.mark.parametrize(("max_pages", "pages", "truncated"), [(None, 3, False), (2, 2, True)])
def test_document_pipeline_reads_documents_up_to_the_page_limit(db, max_pages, pages, truncated):
    """OMNI_DOCUMENT_MAX_PAGES comes from the crawler's settings (here `-s`)."""
    cmdline = {} if max_pages is None else {"OMNI_DOCUMENT_MAX_PAGES": max_pages}
    crawler = site_crawler("shop.example", **cmdline)
    good, bad = run_pipelines(
        crawler,
        [DocumentPipeline],
        [document("care.pdf", manual_pdf(3), "pdf"), document("broken.pdf", corrupt_pdf(), "pdf")],
    )
    assert good["kind"] == "page" and "body" not in good
    assert good["document"]["pages"] == pages and good["document"]["pages_total"] == 3
    assert ("truncated" in good["document"]) is truncated
    assert bad["kind"] == "failed" and bad["error"]
    stats = job_stats(crawler.stats.get_stats(), 0.0, 0.0)
    assert (stats["documents_read"], stats["documents_failed"], stats["document_pages"]) == (
        1,
        1,
        pages,
    )


def test_document_pipeline_passes_pages_through(crawler):
    item = {"kind": "page", "url": SITE + "/"}
    assert run_pipelines(crawler, [DocumentPipeline], [dict(item)]) == [item]

"""End-to-end: the real spider crawls a site that links documents; their text is stored like a
page's, every bad document has its recorded outcome, a re-crawl asks conditionally, and the
embedded chunks are found by search with the PDF page they start on."""

from __future__ import annotations

from core.config import get_settings
from db import jobs
from tests.support import documents as make
from tests.support.crawl_fixtures import crawl
from tests.support.document_fixtures import FACTS
from workers.embed_job import run_embed
from workers.search import search


def rows_by_path(db, site) -> dict[str, dict]:
    prefix = f"http://{site.domain}"
    return {
        r["url"].removeprefix(prefix): r
        for r in db.execute(
            "SELECT p.*, w.content_type AS wc_type FROM scraped_pages p "
            "LEFT JOIN website_content w ON w.domain_id = p.domain_id AND w.url = p.url"
        ).fetchall()
    }


def test_documents_are_stored_like_pages_and_bad_ones_have_a_reason(doc_site, db, redis_client):
    stats = crawl(doc_site.domain)
    assert stats["status"] == "completed", stats
    rows = rows_by_path(db, doc_site)

    guide = rows["/docs/care-guide.pdf"]
    assert guide["status"] == "scraped" and guide["wc_type"] == "pdf"
    assert guide["title"] == "Tent care guide" and guide["html"] is None
    assert all(fact in guide["content"] for fact in FACTS.values())
    meta = guide["metadata"]
    assert meta["content_type"] == "pdf" and meta["pages"] == 3 and meta["etag"]
    assert guide["content"][meta["page_starts"][1] :].startswith("# Chapter 2:")
    assert {"level": 2, "text": "Storage tips 3", "page": 3} in meta["headings"]

    manual = rows["/docs/manual-300.pdf"]
    assert manual["status"] == "scraped" and manual["metadata"]["pages"] == 300
    assert make.page_fact(300) in manual["content"] and "truncated" not in manual["metadata"]

    expected_failures = {
        "/docs/locked.pdf": "encrypted: the PDF needs a password to open",
        "/docs/broken.pdf": "corrupt: PDFium cannot read the PDF",
        "/docs/partial.pdf": "truncated: the PDF ends before its end-of-file marker",
        "/docs/scan.pdf": "scanned: no text layer on any of its 2 pages",
        "/docs/price-list.pdf": "not a document: price-list.pdf answered with HTML",
    }
    for path, reason in expected_failures.items():
        row = rows[path]
        assert row["status"] == "failed" and row["error_message"].startswith(reason), row
        assert row["metadata"]["content_type"] == "pdf" and row["wc_type"] is None

    for path, fmt, text in [
        ("/docs/sizes.docx", "docx", "# Jackets\n\nSize M fits a 96 cm chest."),
        ("/docs/warranty.odt", "odt", "Two years on stoves."),
        ("/docs/opening-hours.txt", "text", "Monday to Friday, 9 to 17."),
        ("/download", "pdf", "Chapter 1"),
    ]:
        assert rows[path]["status"] == "scraped" and rows[path]["wc_type"] == fmt, path
        assert text in rows[path]["content"]
    assert rows["/download"]["title"] == "Returns form"

    # robots.txt rules hold for documents; formats not read stay references
    assert (
        "/private/staff.pdf" not in doc_site.paths() and "/docs/prices.xlsx" not in doc_site.paths()
    )
    assert stats["documents_read"] == 6 and stats["documents_failed"] == 4  # + price-list: HTML
    # the documents go to the workers like new pages
    queued = {
        str(i)
        for j in db.execute(
            "SELECT metadata FROM content_refresh_jobs WHERE job_type = 'embed'"
        ).fetchall()
        for i in j["metadata"]["page_ids"]
    }
    assert str(guide["id"]) in queued and str(manual["id"]) in queued

    # a re-crawl asks with the stored validators: nothing is downloaded or rewritten again
    doc_site.requests.clear()
    again = crawl(doc_site.domain)
    assert again["status"] == "completed" and again.get("documents_read", 0) == 0
    guide_requests = [r for r in doc_site.requests if r.path == "/docs/care-guide.pdf"]
    assert [r.status for r in guide_requests] == [304]
    assert guide_requests[0].headers.get("If-None-Match") == meta["etag"]
    assert rows_by_path(db, doc_site)["/docs/care-guide.pdf"]["content"] == guide["content"]


def test_search_finds_a_pdf_chunk_with_its_page(doc_site, db, redis_client):

    assert crawl(doc_site.domain)["status"] == "completed"
    guide = db.execute(
        "SELECT id, domain_id FROM scraped_pages WHERE url LIKE '%%care-guide.pdf'"
    ).fetchone()
    job = jobs.get(
        db, jobs.create(db, guide["domain_id"], "embed", {"page_ids": [str(guide["id"])]})
    )
    run_embed(db, job, get_settings())
    pages = [
        r["page"]
        for r in db.execute(
            "SELECT (metadata->>'page')::int AS page FROM page_embeddings "
            "ORDER BY (metadata->>'chunk_index')::int"
        ).fetchall()
    ]
    assert pages[0] == 1 and pages == sorted(pages) and set(pages) == {1, 2, 3}

    for query, page in [
        ("how do I fix a torn mesh door", 2),
        ("how long is the warranty on tent poles", 3),
    ]:
        best = search(db, query, doc_site.domain, k=3, settings=get_settings())[0]
        url = doc_site.url("/docs/care-guide.pdf")
        assert (best["url"], best["page"], best["link"]) == (url, page, f"{url}#page={page}")
        assert FACTS[page] in " ".join(best["chunk"].split())

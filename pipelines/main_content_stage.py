"""The main-content stage: each new or changed page's main content, computed once and stored,
before any job is queued for it.

The crawl stores the fast pass (pipelines/extract.py) and the page's fingerprint; when the
spider closes (every response handled, the site's template learned from the whole crawl), the
enqueue step calls `store_main_content` for the pages the crawl stored as new or changed, and
for any page of the domain a crawl that died left without it. Per page, in one transaction
under its row lock, it computes `content.main_content.page_content` (type, title, main text
without the template lines, Markdown, product facts) and writes it:

- `website_content`: title, content, summary, content_type (the page type), content_hash,
  metadata {markdown, headings, language, facts}. Only when one of them differs from what is
  stored: a page whose fetched version differs only in its template (a rotating "customers also
  viewed" block, a footer year) keeps its row as it is (same `updated_at`), and gets no job.
- `scraped_pages`: content (the main text) and metadata {markdown, main_content: the content
  hash the text was computed for}: the marker that says the page's current version is done;
  and, when `website_content` changed, `jobs_pending` (the same hash) in the same transaction.
  The enqueue step removes it in the transaction that creates the page's jobs, so a crawl
  killed between the two leaves it set and the next crawl's enqueue queues the page
  (`PAGES_AWAITING_JOBS_SQL`): no page's new knowledge waits for its next change.

A page the extractors find nothing on, or fail on, keeps the fast pass's text, with the reason
in `scraped_pages.metadata.main_content_error`. The extract, optimize and embed jobs read what
this stage stored; they never compute it. Idempotent: the same HTML and template give the same
text, and a page already done for its version is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from psycopg.types.json import Jsonb

from db import site_templates
from db.connection import Conn

if TYPE_CHECKING:
    from content.main_content import PageContent

log = logging.getLogger(__name__)

PENDING_SQL = """
SELECT id::text AS id FROM scraped_pages
WHERE domain_id = %(domain)s AND status = 'scraped' AND html IS NOT NULL
  AND metadata->>'content_hash' IS NOT NULL
  AND (metadata->>'main_content') IS DISTINCT FROM metadata->>'content_hash'
ORDER BY id
"""

# pages whose stored knowledge changed but whose jobs were never created (the crawl died between)
PAGES_AWAITING_JOBS_SQL = """
SELECT id::text AS id FROM scraped_pages
WHERE domain_id = %s AND metadata ? 'jobs_pending' ORDER BY id
"""

JOBS_CREATED_SQL = """
UPDATE scraped_pages SET metadata = metadata - 'jobs_pending' WHERE id = ANY(%s::uuid[])
"""

UPSERT_CONTENT_SQL = """
INSERT INTO website_content AS w (domain_id, url, title, content, summary, content_type,
                                  content_hash, metadata, scraped_at)
VALUES (%(domain)s, %(url)s, %(title)s, %(content)s, %(summary)s, %(type)s, %(hash)s,
        %(metadata)s, NOW())
ON CONFLICT (domain_id, url) DO UPDATE SET
    title = EXCLUDED.title, content = EXCLUDED.content, summary = EXCLUDED.summary,
    content_type = EXCLUDED.content_type, content_hash = EXCLUDED.content_hash,
    metadata = EXCLUDED.metadata, scraped_at = NOW(), updated_at = NOW()
"""


@dataclass
class StageResult:
    changed: list[str] = field(default_factory=list)  # stored content differs: jobs follow
    unchanged: list[str] = field(default_factory=list)  # same knowledge as stored: nothing follows
    failed: int = 0  # the fast pass's text kept
    stopped: bool = False  # asked to stop between pages: the rest is left to the next crawl


def store_main_content(
    conn: Conn, domain_id: UUID | str, stop_requested: Callable[[], bool] = lambda: False
) -> StageResult:
    """Computes and stores the main content of the domain's pages that lack it for their current
    version (this crawl's new and changed pages, and any an earlier crawl left without it);
    commits after each page, and ends between pages once `stop_requested()` is true."""
    result = StageResult()
    pending = [r["id"] for r in conn.execute(PENDING_SQL, {"domain": domain_id})]
    conn.commit()
    if not pending:
        return result
    # imported here: the extractors cost ~1 s to import, for crawls that stored pages
    from content.main_content import page_content  # noqa: PLC0415 - see the comment above

    template = site_templates.load(conn, str(domain_id))
    for done, page_id in enumerate(pending):
        if stop_requested():
            result.stopped = True
            log.info("main content: stopped with %d pages left", len(pending) - done)
            break
        with conn.transaction():
            page = conn.execute(
                "SELECT url, html, title, content, metadata FROM scraped_pages "
                "WHERE id = %s FOR UPDATE",
                (page_id,),
            ).fetchone()
            meta = page["metadata"] if page else {}
            if page is None or meta.get("main_content") == meta.get("content_hash"):
                continue  # done meanwhile
            try:
                found = page_content(page["html"], page["url"], template)
                failure = None if found.text else "no main content found"
            except Exception as exc:  # noqa: BLE001 - a page the parsers choke on
                found, failure = None, f"{type(exc).__name__}: {exc}"[:300]
                log.warning("main content of %s not extracted: %s", page["url"], failure)
            changed = _store(conn, domain_id, page_id, page, found, failure)
        conn.commit()
        result.failed += failure is not None
        (result.changed if changed else result.unchanged).append(page_id)
    return result


def _store(
    conn: Conn,
    domain_id: UUID | str,
    page_id: str,
    page: dict[str, Any],
    found: PageContent | None,
    failure: str | None,
) -> bool:
    """Writes one page's stage output; returns whether its website_content changed."""
    meta = page["metadata"]
    marker: dict[str, Any] = {"main_content": meta["content_hash"]}
    if found is not None and failure is None:
        text, markdown, kind, title = found.text, found.markdown, found.page_type, found.title
        facts = found.facts
        marker["markdown"] = markdown
    else:  # the fast pass's text and Markdown stay
        text, markdown, kind = page["content"] or "", meta.get("markdown") or "", "page"
        title, facts = page["title"], {}
        marker["main_content_error"] = failure
    conn.execute(
        "UPDATE scraped_pages SET content = %s, metadata = (metadata - "
        "'main_content_error') || %s WHERE id = %s",
        (text, Jsonb(marker), page_id),
    )
    content_meta = {
        "markdown": markdown,
        "headings": meta.get("headings") or [],
        "language": meta.get("language"),
        "page_type": kind,
    }
    if facts:
        content_meta["facts"] = facts
    stored = conn.execute(
        "SELECT title, content, summary, content_type, metadata "
        "FROM website_content WHERE domain_id = %s AND url = %s",
        (domain_id, page["url"]),
    ).fetchone()
    row = {
        "title": title,
        "content": text,
        "summary": meta.get("description"),
        "content_type": kind,
        "metadata": content_meta,
    }
    if stored is not None and all(stored[k] == v for k, v in row.items()):
        return False
    conn.execute(
        "UPDATE scraped_pages SET metadata = metadata || %s WHERE id = %s",
        (Jsonb({"jobs_pending": meta["content_hash"]}), page_id),
    )
    conn.execute(
        UPSERT_CONTENT_SQL,
        {
            "domain": domain_id,
            "url": page["url"],
            "title": title,
            "content": text,
            "summary": row["summary"],
            "type": kind,
            "hash": meta["content_hash"],
            "metadata": Jsonb(content_meta),
        },
    )
    return True

"""Main content for new and changed pages, in the workers (not in the crawl process).

The crawl stores the fast pass (pipelines/extract.py: the lxml walker without the site's
template) and its fingerprint; the better, slower extractor (pipelines/main_content.py, ~25 ms
of CPU a page) runs here, once per page version, before anything reads the page's text. The
extract, optimize and embed jobs of a crawl batch run in parallel, so each calls
`ensure_main_content` for its pages first: the first one to reach a page computes it, the
others find it done. A page is done for a version when `scraped_pages.metadata.main_content`
equals its `content_hash`; a re-crawl that finds the page unchanged keeps the hash, so nothing
is recomputed, and a changed page gets a new hash and is computed again.

Writes, per page in one transaction under the page's row lock: `scraped_pages.content` and
`website_content.content` (the main text, template lines removed with the template as learned
by the crawl, which has seen the whole site by then), `metadata.markdown` of both, and the
marker. Idempotent: the same HTML and template give the same text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from pipelines import template as site_template

log = logging.getLogger(__name__)

PENDING_SQL = """
SELECT id FROM scraped_pages
WHERE domain_id = %s AND id = ANY(%s::uuid[]) AND html IS NOT NULL
  AND metadata->>'content_hash' IS NOT NULL
  AND (metadata->>'main_content') IS DISTINCT FROM metadata->>'content_hash'
"""


def _uuids(ids: list[Any]) -> list[str]:
    out = []
    for value in ids:
        try:
            out.append(str(UUID(str(value))))
        except ValueError:
            continue  # the job's own validation reports bad ids
    return out


def ensure_main_content(conn: psycopg.Connection, domain_id: Any, page_ids: list[Any],
                        commit: Callable[[psycopg.Connection], None] | None = None) -> int:
    """Computes the main content of those pages that lack it for their current version; returns
    how many it computed. `commit(conn)` runs after each page (the jobs pass their checkpoint,
    so no page lock is held across the rest of the job)."""
    pending = [r["id"] for r in conn.execute(PENDING_SQL, (domain_id, _uuids(page_ids)))]
    if not pending:
        return 0
    # imported here: the three extractors cost ~1 s to import, for workers that have pages to do
    from pipelines.main_content import page_main_content

    template = site_template.load(conn, str(domain_id))
    done = 0
    for page_id in pending:
        with conn.transaction():
            page = conn.execute(
                "SELECT url, html, metadata->>'content_hash' AS hash, metadata->>'main_content' "
                "AS marker FROM scraped_pages WHERE id = %s FOR UPDATE", (page_id,)).fetchone()
            if page is None or page["marker"] == page["hash"] or not page["html"]:
                continue  # another job got there first
            try:
                text, markdown = page_main_content(page["html"], template)
                failure = None
            except Exception as exc:  # noqa: BLE001 - a page the parsers choke on
                text, markdown, failure = "", "", f"{type(exc).__name__}: {exc}"[:300]
                log.warning("main content of %s not extracted: %s", page["url"], failure)
            if not text:  # nothing found: the fast pass's text stays, recorded as such
                marker = {"main_content": page["hash"],
                          "main_content_error": failure or "no main content found"}
                conn.execute("UPDATE scraped_pages SET metadata = metadata || %s WHERE id = %s",
                             (Jsonb(marker), page_id))
                continue
            conn.execute(
                "UPDATE scraped_pages SET content = %s, metadata = metadata || %s WHERE id = %s",
                (text, Jsonb({"main_content": page["hash"], "markdown": markdown}), page_id))
            conn.execute(
                "UPDATE website_content SET content = %s, metadata = metadata || %s "
                "WHERE domain_id = %s AND url = %s AND content_hash = %s",
                (text, Jsonb({"markdown": markdown}), domain_id, page["url"], page["hash"]))
            done += 1
        if commit is not None:
            commit(conn)
    return done

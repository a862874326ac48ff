"""Forgetting pages: what a page put into search leaves it, in one transaction.

`forget_pages` is the one deletion path. The crawl calls it for pages confirmed gone
(docs/crawling.md, "Forgetting"); a "forget on request" command can call it for any URLs of a
domain. For each URL it removes the page's

- `page_embeddings` (the vectors every search function reads),
- `website_content` (and through its foreign key the `ai_optimized_content` made from it; rows
  of `ai_optimized_content` for the URL are removed too),
- `structured_extractions` made from the page (the shop API's own rows, `schema_used.source =
  'shop-api'`, belong to the catalogue sync and stay),
- links from the page (`page_content_references` with it as source), and its URL in
  `content_hashes` (so a page with the same text elsewhere is not taken for its duplicate).

The `scraped_pages` row stays, as the crawl's memory of the URL (status, dead-link back-off),
with its content, HTML and validators cleared and `metadata.forgotten_at` / `forgotten_reason`
set: a page that comes back is then new to the crawl and is ingested again.

`remove_pages` goes through `forget_pages` and then deletes the rows too, for what must leave no
memory: a curated answer deleted, a page holding an erased subject's data, a page forgotten on
request (docs/privacy.md#forget). `forget` adds a pattern to the domain's config (`domains.config ->
'forget'`), which the crawl reads (crawlers/state.py) so the pages stay out of future crawls, and
removes the pages it matches now.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from core.url_patterns import check_pattern, matches
from db.connection import Conn, one

log = logging.getLogger(__name__)

# The catalogue sync's rows (workers/catalog/model.API_SOURCE; the test asserts they agree).
CATALOG_SOURCE = "shop-api"

# Metadata of a stored version: dropped when a page is forgotten.
VERSION_KEYS = (
    "etag",
    "last_modified_header",
    "content_hash",
    "blocks",
    "markdown",
    "headings",
    "description",
    "main_content",
    "change",
)


@dataclass(frozen=True)
class Forgotten:
    pages: int = 0
    embeddings: int = 0
    website_content: int = 0
    optimized: int = 0
    extractions: int = 0

    def __add__(self, other: Forgotten) -> Forgotten:
        return Forgotten(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


FORGET_SQL = """
WITH pages AS (
    UPDATE scraped_pages p SET content = NULL, html = NULL,
        metadata = (p.metadata - %(version_keys)s::text[])
                   || jsonb_build_object('forgotten_at', now(),
                                         'forgotten_reason', %(reason)s::text)
    WHERE p.domain_id = %(domain_id)s AND p.url = ANY(%(urls)s)
    RETURNING p.id, p.url
), embeddings AS (
    DELETE FROM page_embeddings e USING pages WHERE e.page_id = pages.id RETURNING 1
), optimized AS (
    DELETE FROM ai_optimized_content o
    WHERE o.domain_id = %(domain_id)s AND o.url = ANY(%(urls)s) RETURNING 1
), content AS (
    DELETE FROM website_content w
    WHERE w.domain_id = %(domain_id)s AND w.url = ANY(%(urls)s) RETURNING 1
), extractions AS (
    DELETE FROM structured_extractions x
    WHERE x.domain_id = %(domain_id)s AND x.url = ANY(%(urls)s)
      AND x.schema_used ->> 'source' IS DISTINCT FROM %(catalog_source)s RETURNING 1
), links AS (
    DELETE FROM page_content_references r
    WHERE r.domain_id = %(domain_id)s AND r.source_url = ANY(%(urls)s) RETURNING 1
)
SELECT (SELECT count(*) FROM pages) AS pages, (SELECT count(*) FROM embeddings) AS embeddings,
       (SELECT count(*) FROM content) AS website_content,
       (SELECT count(*) FROM optimized) AS optimized,
       (SELECT count(*) FROM extractions) AS extractions,
       (SELECT count(*) FROM links) AS links
"""

# The URLs leave `content_hashes` too; a hash no URL carries any more goes. (Computed once, then
# each row is either updated or deleted: a statement may change a row only once.)
HASHES_SQL = """
WITH kept AS (
    SELECT h.id,
           ARRAY(SELECT u FROM unnest(h.urls) AS u WHERE u <> ALL(%(urls)s) ORDER BY u) AS urls
    FROM content_hashes h WHERE h.domain_id = %(domain_id)s AND h.urls && %(urls)s::text[]
), emptied AS (
    DELETE FROM content_hashes h USING kept k WHERE h.id = k.id AND cardinality(k.urls) = 0
    RETURNING 1
)
UPDATE content_hashes h
SET urls = k.urls, occurrence_count = cardinality(k.urls), updated_at = now(),
    canonical_url = CASE WHEN h.canonical_url = ANY(%(urls)s) THEN k.urls[1]
                         ELSE h.canonical_url END
FROM kept k WHERE h.id = k.id AND cardinality(k.urls) > 0
"""


def forget_pages(conn: Conn, domain_id: Any, urls: list[str], reason: str) -> Forgotten:
    """Take the pages at `urls` of the domain out of search (see the module's docstring), in one
    transaction of the caller's connection. Idempotent: forgetting twice deletes nothing more.
    URLs the domain does not have are ignored."""
    urls = sorted(set(urls))
    if not urls:
        return Forgotten()
    params = {
        "domain_id": domain_id,
        "urls": urls,
        "reason": reason,
        "version_keys": list(VERSION_KEYS),
        "catalog_source": CATALOG_SOURCE,
    }
    with conn.transaction():
        row = one(conn.execute(FORGET_SQL, params))
        conn.execute(HASHES_SQL, params)
    return Forgotten(
        row["pages"],
        row["embeddings"],
        row["website_content"],
        row["optimized"],
        row["extractions"],
    )


CONFIG_KEY = "forget"


def remove_pages(
    conn: Conn, domain_id: UUID | str, page_ids: Sequence[UUID | str], reason: str
) -> dict[str, int]:
    """Take the domain's pages `page_ids` out of search by the one path (`forget_pages`), then
    delete their rows too: nothing of them is kept, not even the crawl's memory of the URL.
    Counts by what was removed. Ids of other domains are ignored (never another tenant's pages)."""
    ids = [str(p) for p in page_ids]
    urls = [
        r["url"]
        for r in conn.execute(
            "SELECT url FROM scraped_pages WHERE domain_id = %s AND id = ANY(%s::uuid[])",
            (domain_id, ids),
        )
    ]
    with conn.transaction():
        forgotten = forget_pages(conn, domain_id, urls, reason)
        deleted = conn.execute(
            "DELETE FROM scraped_pages WHERE domain_id = %s AND id = ANY(%s::uuid[])",
            (domain_id, ids),
        ).rowcount
    log.info("removed %d page(s) of domain %s from the knowledge (%s)", deleted, domain_id, reason)
    return {
        "scraped_pages": deleted,
        **{f.name: getattr(forgotten, f.name) for f in fields(forgotten) if f.name != "pages"},
    }


def patterns(config: dict[str, Any] | None) -> tuple[str, ...]:
    """The forget patterns of a domain's config (pure)."""
    entries = (config or {}).get(CONFIG_KEY) or []
    return tuple(e["pattern"] for e in entries if isinstance(e, dict) and e.get("pattern"))


def matching_pages(conn: Conn, domain_id: UUID | str, pattern: str) -> list[UUID]:
    rows = conn.execute(
        "SELECT id, url FROM scraped_pages WHERE domain_id = %s AND url ~ '^https?://'",
        (domain_id,),
    ).fetchall()
    return [r["id"] for r in rows if matches(r["url"], pattern)]


def forget(conn: Conn, domain_id: UUID | str, pattern: str, reason: str) -> dict[str, Any]:
    """Record the pattern (once) and remove its pages, in the caller's transaction."""
    pattern = check_pattern(pattern)
    config = (
        one(conn.execute("SELECT config FROM domains WHERE id = %s FOR UPDATE", (domain_id,)))[
            "config"
        ]
        or {}
    )
    removed = remove_pages(
        conn, domain_id, matching_pages(conn, domain_id, pattern), f"forget {pattern}: {reason}"
    )
    entries = [e for e in config.get(CONFIG_KEY) or [] if e.get("pattern") != pattern]
    entries.append(
        {
            "pattern": pattern,
            "reason": reason,
            "at": datetime.now(UTC).isoformat(),
            "pages": removed["scraped_pages"],
        }
    )
    conn.execute(
        "UPDATE domains SET config = config || %s WHERE id = %s",
        (Jsonb({CONFIG_KEY: entries}), domain_id),
    )
    return {"pattern": pattern, "removed": removed}

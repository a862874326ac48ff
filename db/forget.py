"""Removing pages from a domain's knowledge (docs/privacy.md#forget).

`forget_pages` is the one removal path: a page forgotten on request (`omni domain forget`), a
curated answer deleted, a page holding an erased subject's data. It deletes, in the caller's
transaction, the page and everything derived from it: its chunks (page_embeddings, by cascade),
its main content (website_content, and ai_optimized_content by cascade or by URL), its
extractions, its outgoing links, and its URL in content_hashes.

`forget` adds a pattern to the domain's config (`domains.config -> 'forget'`, a list of
{"pattern", "reason", "at", "pages"}), which the crawl reads (crawlers/state.py) so the pages
stay out of future crawls, and removes the pages it matches now.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from core.url_patterns import check_pattern, matches

log = logging.getLogger(__name__)

CONFIG_KEY = "forget"


def forget_pages(conn: psycopg.Connection, domain_id: UUID | str, page_ids: list[UUID | str],
                 reason: str) -> dict[str, int]:
    """Delete the domain's pages `page_ids` and what was derived from them; counts by table.
    Ids of other domains are ignored (never another tenant's pages)."""
    pages = conn.execute(
        "DELETE FROM scraped_pages WHERE domain_id = %s AND id = ANY(%s::uuid[]) RETURNING id, url",
        (domain_id, [str(p) for p in page_ids])).fetchall()
    urls = [p["url"] for p in pages]
    counts = {"scraped_pages": len(pages)}
    log.info("removed %d page(s) of domain %s from the knowledge (%s)", len(pages), domain_id, reason)
    if not urls:
        return counts
    for table, column in (("ai_optimized_content", "url"), ("website_content", "url"),
                          ("structured_extractions", "url"),
                          ("page_content_references", "source_url")):
        counts[table] = conn.execute(
            f"DELETE FROM {table} WHERE domain_id = %s AND {column} = ANY(%s)",
            (domain_id, urls)).rowcount
    conn.execute(
        "UPDATE content_hashes SET urls = ARRAY(SELECT u FROM unnest(urls) u WHERE u <> ALL(%s)), "
        "canonical_url = CASE WHEN canonical_url = ANY(%s) THEN NULL ELSE canonical_url END "
        "WHERE domain_id = %s AND urls && %s", (urls, urls, domain_id, urls))
    counts["content_hashes"] = conn.execute(
        "DELETE FROM content_hashes WHERE domain_id = %s AND cardinality(urls) = 0",
        (domain_id,)).rowcount
    return counts


def patterns(config: dict[str, Any] | None) -> tuple[str, ...]:
    """The forget patterns of a domain's config (pure)."""
    entries = (config or {}).get(CONFIG_KEY) or []
    return tuple(e["pattern"] for e in entries if isinstance(e, dict) and e.get("pattern"))


def matching_pages(conn: psycopg.Connection, domain_id: UUID | str, pattern: str) -> list[UUID]:
    rows = conn.execute("SELECT id, url FROM scraped_pages WHERE domain_id = %s "
                        "AND url ~ '^https?://'", (domain_id,)).fetchall()
    return [r["id"] for r in rows if matches(r["url"], pattern)]


def forget(conn: psycopg.Connection, domain_id: UUID | str, pattern: str,
           reason: str) -> dict[str, Any]:
    """Record the pattern (once) and remove its pages, in the caller's transaction."""
    pattern = check_pattern(pattern)
    config = conn.execute("SELECT config FROM domains WHERE id = %s FOR UPDATE",
                          (domain_id,)).fetchone()["config"] or {}
    removed = forget_pages(conn, domain_id, matching_pages(conn, domain_id, pattern),
                           f"forget {pattern}: {reason}")
    entries = [e for e in config.get(CONFIG_KEY) or [] if e.get("pattern") != pattern]
    entries.append({"pattern": pattern, "reason": reason, "at": datetime.now(UTC).isoformat(),
                    "pages": removed["scraped_pages"]})
    conn.execute("UPDATE domains SET config = config || %s WHERE id = %s",
                 (Jsonb({CONFIG_KEY: entries}), domain_id))
    return {"pattern": pattern, "removed": removed}

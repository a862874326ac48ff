"""Links: a `page_content_references` row for every link of a page (internal or external,
anchor text, nofollow; documents such as PDFs as `reference_type = 'document'`). Links a page
no longer has are removed. After the crawl, internal links whose target answered 404/410 are
flagged broken."""

from __future__ import annotations

import json
from itertools import islice
from typing import TYPE_CHECKING

from crawlers.items import Link, PageItem
from crawlers.state import state_of
from db.connection import get_pool
from pipelines.batch_writer import BatchWriter

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

BATCH_SIZE = 100  # pages per statement
# statuses per statement when marking broken links: the crawl's statuses (one per URL asked, on
# disk past OMNI_CRAWL_URL_MEMORY) are read in parts, never copied whole into memory
MARK_CHUNK = 5000

UPSERT_SQL = """
WITH data AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
        source_url text, target_url text, anchor_text text, reference_type text,
        is_internal boolean, nofollow boolean)
), upserted AS (
    INSERT INTO page_content_references AS p (domain_id, source_url, target_url, anchor_text,
        reference_type, is_internal, nofollow)
    SELECT %(domain_id)s, source_url, target_url, anchor_text, reference_type, is_internal, nofollow
    FROM data
    ON CONFLICT (domain_id, source_url, target_url) DO UPDATE SET
        anchor_text = EXCLUDED.anchor_text, reference_type = EXCLUDED.reference_type,
        is_internal = EXCLUDED.is_internal, nofollow = EXCLUDED.nofollow,
        last_seen_at = NOW(), updated_at = NOW()
    RETURNING 1
)
DELETE FROM page_content_references p
WHERE p.domain_id = %(domain_id)s AND p.source_url = ANY(%(sources)s)
  AND NOT EXISTS (SELECT 1 FROM data d WHERE d.source_url = p.source_url
                                         AND d.target_url = p.target_url)
"""

BROKEN_SQL = """
UPDATE page_content_references p
SET is_broken = s.status IN (404, 410), target_status = s.status, updated_at = NOW()
FROM unnest(%(urls)s::text[], %(statuses)s::int[]) AS s(url, status)
WHERE p.domain_id = %(domain_id)s AND p.is_internal AND p.target_url = s.url
  AND (p.target_status IS DISTINCT FROM s.status OR p.is_broken <> (s.status IN (404, 410)))
"""


class LinksPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.writer: BatchWriter[tuple[str, list[Link]]] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LinksPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.state = state_of(self.crawler)
        self.writer = BatchWriter("page_content_references", BATCH_SIZE, self._write, self.state)

    def process_item(self, item: PageItem) -> PageItem:
        if item.get("kind") == "page" and item.get("change") != "unchanged":
            assert self.writer is not None, "opened by open_spider"
            self.writer.add((item["url"], item.pop("links", [])))
        else:
            item.pop("links", None)
        return item

    def _write(self, pages: list[tuple[str, list[Link]]]) -> None:
        rows = [{"source_url": source, **link} for source, links in pages for link in links]
        with get_pool().connection() as conn:
            conn.execute(
                UPSERT_SQL,
                {
                    "domain_id": self.state.domain_id,
                    "rows": json.dumps(rows),
                    "sources": [source for source, _ in pages],
                },
            )

    def _mark_broken(self) -> None:
        answered = ((url, status) for url, status in self.state.statuses.items() if status != 304)
        while chunk := list(islice(answered, MARK_CHUNK)):
            with get_pool().connection() as conn:
                conn.execute(
                    BROKEN_SQL,
                    {
                        "domain_id": self.state.domain_id,
                        "urls": [url for url, _ in chunk],
                        "statuses": [status for _, status in chunk],
                    },
                )

    async def close_spider(self) -> None:
        if self.writer:
            await self.writer.close()
        try:
            self._mark_broken()
        except Exception as exc:  # noqa: BLE001 - recorded: the crawl job fails with it
            self.state.errors.append(f"broken links: {type(exc).__name__}: {exc}")

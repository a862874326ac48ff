"""Hash: XXH3-128 of the page's fingerprint text (the fast pass's text) with volatile parts masked
(dates, times, "N views", "3 hours ago", long tokens); each page classified new / changed /
unchanged / duplicate; `content_hashes` upserted in batches (first/last seen, URLs, occurrence
count). A page is also unchanged when its blocks equal the stored version's once the site's
template blocks are left out (judged by the extract step, pipelines/extract.py, which holds the
template): a change in the template or in volatile parts only keeps the stored version."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

from content.fingerprint import classify, content_hash
from crawlers.items import PageItem
from crawlers.state import state_of
from db.connection import get_pool
from pipelines.batch_writer import BatchWriter

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

BATCH_SIZE = 200


UPSERT_SQL = """
INSERT INTO content_hashes AS h (domain_id, content_hash, hash_algorithm, canonical_url, urls,
                                 occurrence_count, content_length, first_seen_at, last_seen_at)
SELECT %(domain_id)s, r.content_hash, 'xxh3_128', r.urls[1], r.urls, cardinality(r.urls),
       r.content_length, NOW(), NOW()
FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(content_hash text, urls text[], content_length int)
ON CONFLICT (domain_id, content_hash) DO UPDATE SET
    urls = ARRAY(SELECT DISTINCT u FROM unnest(h.urls || EXCLUDED.urls) AS u ORDER BY u),
    occurrence_count = cardinality(ARRAY(SELECT DISTINCT unnest(h.urls || EXCLUDED.urls))),
    content_length = COALESCE(EXCLUDED.content_length, h.content_length),
    last_seen_at = NOW(), updated_at = NOW()
"""


class HashPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.writer: BatchWriter[tuple[str, str, int | None]] | None = None
        self.first_url: MutableMapping[str, str] = {}  # this crawl's first URL of each hash

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HashPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.state = state_of(self.crawler)
        self.first_url = self.state.url_map()
        self.writer = BatchWriter("content_hashes", BATCH_SIZE, self._write, self.state)

    def process_item(self, item: PageItem) -> PageItem:
        state = self.state
        kind = item.get("kind")
        if kind == "unchanged":
            known = state.known.get(item["url"])
            if known and known.content_hash:
                item["content_hash"] = known.content_hash
                item["change"] = "unchanged"
                self._writer().add((known.content_hash, item["url"], None))
            return item
        if kind != "page":
            return item
        url = item["url"]
        text = item["extracted"].text
        digest = item.pop("fingerprint", None) or content_hash(text)
        known = state.known.get(url)
        if known and known.content_hash and item.pop("template_only_change", False):
            digest = known.content_hash  # only template blocks differ: the stored version stands
        change, duplicate_of = classify(
            url,
            digest,
            known.content_hash if known else None,
            self.first_url.get(digest),
            state.known_hashes.get(digest),
        )
        if (
            change == "unchanged"
            and known is not None
            and known.status == "duplicate"
            and known.canonical_of
        ):
            change, duplicate_of = "duplicate", known.canonical_of  # still the copy it was
        elif state.force and change == "unchanged":
            change = "changed"  # `omni refresh --force`: re-extract every page
        self.first_url.setdefault(digest, url)
        item["content_hash"] = digest
        item["change"] = change
        item["duplicate_of"] = duplicate_of
        self._writer().add((digest, url, len(text)))
        return item

    def _writer(self) -> BatchWriter[tuple[str, str, int | None]]:
        assert self.writer is not None, "opened by open_spider"
        return self.writer

    def _write(self, rows: list[tuple[str, str, int | None]]) -> None:
        grouped: dict[str, dict[str, Any]] = {}
        for digest, url, length in rows:
            entry = grouped.setdefault(
                digest, {"content_hash": digest, "urls": [], "content_length": length}
            )
            if url not in entry["urls"]:
                entry["urls"].append(url)
            if length is not None:
                entry["content_length"] = length
        with get_pool().connection() as conn:
            conn.execute(
                UPSERT_SQL,
                {"domain_id": self.state.domain_id, "rows": json.dumps(list(grouped.values()))},
            )

    async def close_spider(self) -> None:
        if self.writer:
            await self.writer.close()

"""Store: `scraped_pages` and `website_content`, upserted in batches: one statement (one round
trip) per batch, flushed when the spider closes.

- new / changed pages: the whole row, and their `website_content`;
- duplicates (the same text as another URL): status `duplicate`, `canonical_of` and
  `duplicate_of` = that URL, the validators and hash, no content and no `website_content`;
- unchanged pages (304, or the same text): only scraped_at / status / fresh HTTP metadata; the
  content is not rewritten (a non-HTML file answering 304 stays `failed` with its reason);
- failures: status `failed` + the reason (earlier content kept); 404/410 on a re-crawl: `gone`;
  a 404/410 also records `dead_count` and `next_check_at` (asked again after a back-off);
- every other URL the crawler met: `duplicate` (rel=canonical to another page, with its own
  validators, so a re-crawl asks it conditionally) and `redirect` (re-checked weekly), both
  with `canonical_of`; no content.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from core.knowledge import page_kind
from crawlers.crawl_stats import count
from crawlers.items import PageItem
from crawlers.recheck import TRAP_RECHECK_DAYS
from crawlers.state import state_of
from db.connection import get_pool
from db.forget import Forgotten, forget_pages
from pipelines.batch_writer import BatchWriter

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

BATCH_SIZE = 100

UPSERT_SQL = """
WITH data AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
        url text, op text, write_content boolean, status text, error_message text, title text,
        content text, html text, last_modified timestamptz, metadata jsonb, summary text,
        content_hash text, content_metadata jsonb, change text, content_type text)
), full_rows AS (
    INSERT INTO scraped_pages AS sp (domain_id, url, title, content, html, metadata, status,
                                     error_message, scraped_at, last_modified)
    SELECT %(domain_id)s, url, title, content, html, metadata, status, NULL, NOW(), last_modified
    FROM data WHERE op = 'full'
    ON CONFLICT (domain_id, url) DO UPDATE SET
        title = EXCLUDED.title, content = EXCLUDED.content, html = EXCLUDED.html,
        metadata = EXCLUDED.metadata, status = EXCLUDED.status, error_message = NULL,
        scraped_at = NOW(), last_modified = EXCLUDED.last_modified
    RETURNING sp.id, sp.url
), light_rows AS (
    UPDATE scraped_pages sp SET status = d.status, scraped_at = NOW(),
        error_message = CASE WHEN d.status = 'failed' THEN sp.error_message END,
        last_modified = COALESCE(d.last_modified, sp.last_modified),
        metadata = sp.metadata || d.metadata
    FROM data d
    WHERE d.op = 'light' AND sp.domain_id = %(domain_id)s AND sp.url = d.url
    RETURNING sp.id
), failed_rows AS (
    INSERT INTO scraped_pages AS sp (domain_id, url, metadata, status, error_message, scraped_at)
    SELECT %(domain_id)s, url, metadata, status, error_message, NOW() FROM data WHERE op = 'fail'
    ON CONFLICT (domain_id, url) DO UPDATE SET
        status = EXCLUDED.status, error_message = EXCLUDED.error_message, scraped_at = NOW(),
        metadata = sp.metadata || EXCLUDED.metadata
    RETURNING sp.id
), content_rows AS (
    INSERT INTO website_content AS w (domain_id, url, title, content, summary, content_type,
                                      content_hash, metadata, scraped_at)
    SELECT %(domain_id)s, url, title, content, summary, COALESCE(content_type, 'page'),
           content_hash, content_metadata,
           NOW()
    FROM data WHERE write_content
    ON CONFLICT (domain_id, url) DO UPDATE SET
        title = EXCLUDED.title, content = EXCLUDED.content, summary = EXCLUDED.summary,
        content_type = EXCLUDED.content_type, content_hash = EXCLUDED.content_hash,
        metadata = EXCLUDED.metadata, scraped_at = NOW(), updated_at = NOW()
    RETURNING w.id
)
SELECT f.id, d.change FROM full_rows f JOIN data d ON d.url = f.url
"""


def http_date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError, IndexError):
        return None


def _http_metadata(item: PageItem) -> dict[str, Any]:
    data = {
        "http_status": item.get("http_status"),
        "etag": item.get("etag"),
        "last_modified_header": item.get("last_modified"),
        "render_mode": item.get("render_mode"),
        "depth": item.get("depth"),
        "bytes": item.get("bytes"),
        "timings": {"download_s": item.get("download_s")},
        "crawl_job_id": item.get("crawl_job_id"),
        "canonical_of": item.get("canonical_of"),
        "dead_count": item.get("dead_count"),
        "next_check_at": item.get("next_check_at"),
    }
    return {k: v for k, v in data.items() if v is not None}


def to_row(item: PageItem) -> dict[str, Any]:
    """The batch row for an item (pure: tested without a database)."""
    kind = item["kind"]
    row: dict[str, Any] = {
        "url": item["url"],
        "write_content": False,
        "change": None,
        "metadata": _http_metadata(item),
    }
    document = item.get("document") or {}  # pipelines/documents.py: PDFs and other documents
    row["metadata"].update(document)
    if kind in ("failed", "gone"):
        row.update(
            op="fail",
            status="failed" if kind == "failed" else "gone",
            error_message=item.get("error"),
        )
        row["metadata"]["error"] = item.get("error")
        return row
    if kind in ("duplicate", "redirect"):  # remembered, never content: the `fail` statement
        row.update(op="fail", status=kind, error_message=None)
        return row
    if kind == "unchanged" or item.get("change") == "unchanged":
        row.update(
            op="light",
            status=item.get("status") or "scraped",
            change="unchanged",
            last_modified=http_date(item.get("last_modified")),
        )
        row["metadata"]["last_checked_status"] = item.get("http_status")
        row["metadata"]["change"] = "unchanged"
        return row
    change = item["change"]
    if (
        change == "duplicate"
    ):  # the same text as another URL: one representation, like rel=canonical
        row.update(op="fail", status="duplicate", error_message=None)
        row["metadata"].update(
            content_hash=item["content_hash"],
            change="duplicate",
            duplicate_of=item.get("duplicate_of"),
            canonical_of=item.get("duplicate_of"),
        )
        return row
    extracted = item["extracted"]
    metadata = {
        **row["metadata"],
        "content_hash": item["content_hash"],
        "change": change,
        "duplicate_of": item.get("duplicate_of"),
        "requested_url": item.get("requested_url"),
        "language": extracted.language,
        "description": extracted.description,
        "headings": extracted.headings,
        "canonical_url": extracted.canonical_url,
        "markdown": extracted.markdown,
        "blocks": item.get("block_keys"),  # content/template.py: change detection per block
        # what the page is to the knowledge base (core.knowledge; the embed job reads page_kind)
        "structure": extracted.structure,
        "page_kind": item.get("page_kind", extracted.structure),
        "excluded_by": item.get("excluded_by"),
    }
    row.update(
        op="full",
        status="scraped",
        change=change,
        title=extracted.title,
        content=extracted.text,
        html=item.get("html"),
        last_modified=http_date(item.get("last_modified")),
        metadata=metadata,
        # an HTML page's website_content is written by the main-content stage
        # (pipelines/main_content_stage.py), only when its knowledge changed
        write_content=change in ("new", "changed") and not item.get("html"),
        summary=extracted.description,
        content_hash=item["content_hash"],
        content_metadata={
            "markdown": extracted.markdown,
            "headings": extracted.headings,
            "language": extracted.language,
            **document,
        },
        content_type=document.get("content_type"),
    )
    return row


def skipped_rows(skipped: dict[str, tuple[str, int]], job_id: str | None) -> list[dict[str, Any]]:
    """Rows for the URLs the trap bound did not fetch: status `skipped` with the reason, asked
    again after TRAP_RECHECK_DAYS."""
    when = (datetime.now(UTC) + timedelta(days=TRAP_RECHECK_DAYS)).isoformat()
    return [
        {
            "url": url,
            "op": "fail",
            "status": "skipped",
            "error_message": reason,
            "write_content": False,
            "change": None,
            "metadata": {
                "depth": depth,
                "error": reason,
                "next_check_at": when,
                "crawl_job_id": job_id,
            },
        }
        for url, (reason, depth) in skipped.items()
    ]


class StorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.writer: BatchWriter[dict[str, Any]] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.state = state_of(self.crawler)
        self.writer = BatchWriter("scraped_pages", BATCH_SIZE, self._write, self.state)

    def process_item(self, item: PageItem) -> PageItem:
        item["crawl_job_id"] = self.state.job_id
        if item.get("extracted") is not None:
            item["page_kind"], item["excluded_by"] = page_kind(
                item["extracted"].structure, item["url"], self.state.include, self.state.exclude
            )
        row = to_row(item)
        outcome = {"fail": row.get("status"), "light": "unchanged"}.get(row["op"], row["change"])
        count(self.crawler.stats, str(outcome))
        assert self.writer is not None, "opened by open_spider"
        self.writer.add(row)
        # a new or changed version written in full: the enqueue step queues its jobs
        item["awaits_jobs"] = row["op"] == "full" and row["change"] in ("new", "changed")
        # What the item still carries is for logs and feeds: drop the heavy parts.
        item.pop("html", None)
        return item

    def _write(self, rows: list[dict[str, Any]]) -> None:
        by_url = {row["url"]: row for row in rows}  # one row per URL and statement
        with get_pool().connection() as conn:
            conn.execute(
                UPSERT_SQL,
                {"domain_id": self.state.domain_id, "rows": json.dumps(list(by_url.values()))},
            )

    async def close_spider(self) -> None:
        if self.writer:
            for row in skipped_rows(self.state.trap_skipped, self.state.job_id):
                self.writer.add(row)
            await self.writer.close()
        if self.state.forget or self.state.moved:
            # after every row of this crawl is written: the gone pages' new status first
            await asyncio.to_thread(self._forget)

    def _forget(self) -> None:
        """Pages confirmed gone, and moved pages whose replacement is now stored with its own
        content, leave search (db.forget.forget_pages)."""
        state = self.state
        try:
            with get_pool().connection() as conn:
                stored = {
                    r["url"]
                    for r in conn.execute(
                        # the page row, not website_content: the main-content stage writes that
                        # later
                        "SELECT url FROM scraped_pages WHERE domain_id = %s AND url = ANY(%s) "
                        "AND status = 'scraped' AND content IS NOT NULL",
                        (state.domain_id, list(set(state.moved.values()))),
                    )
                }
                reasons = {
                    **{old: f"moved to {new}" for old, new in state.moved.items() if new in stored},
                    **state.forget,
                }
                done = Forgotten()
                for reason in set(reasons.values()):
                    urls = [url for url, why in reasons.items() if why == reason]
                    done = done + forget_pages(conn, state.domain_id, urls, reason)
        except Exception as exc:  # noqa: BLE001 - recorded: the crawl job fails with it
            state.errors.append(f"forget: {type(exc).__name__}: {exc}")
            return
        count(self.crawler.stats, "forgotten", done.pages)
        count(self.crawler.stats, "forgotten_chunks", done.embeddings)

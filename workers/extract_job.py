"""The extract step of a job: structured data from each page into `structured_extractions`.

`run_extract(conn, job)` is called by the workers core (workers/actors.py) with the
content_refresh_jobs row. It reads the page's HTML; its main content was stored by the crawl's
main-content stage (pipelines/main_content_stage.py) before this job was queued. Idempotent: a
page's rows are replaced in one transaction, so a
redelivered message leaves the same rows.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from db import jobs
from db.connection import Conn
from workers.catalog.model import API_SOURCE
from workers.catalog.store import catalog_skus, superseded
from workers.errors import TransientError
from workers.extraction import extract_page
from workers.extraction import patterns as domain_patterns
from workers.job_pages import load_pages, requested_ids

log = logging.getLogger(__name__)


def checkpoint(conn: Conn) -> None:
    """Commit the work so far when the caller handed us a connection with an open implicit
    transaction (the pool's default): a page done stays done if a later page fails, and no
    transaction stays open across a slow API call. Inside a caller's `conn.transaction()` block
    commit() is refused before doing anything, and the caller's transaction decides."""
    if conn.autocommit or conn.info.transaction_status != psycopg.pq.TransactionStatus.INTRANS:
        return
    with contextlib.suppress(psycopg.ProgrammingError):
        conn.commit()


def run_extract(conn: Conn, job: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    domain_id = job["domain_id"]
    stats: dict[str, Any] = {
        "extract_pages": 0,
        "extract_skipped_no_html": 0,
        "extract_missing_pages": 0,
        "products": 0,
        "faqs": 0,
        "contacts": 0,
        "platform": None,
    }
    try:
        pages = load_pages(conn, job, "url, html")
        stats["extract_missing_pages"] = len(requested_ids(job)) - len(pages)
        learned = domain_patterns.load(conn, domain_id)
        api_skus = catalog_skus(conn, domain_id)  # the shop API's products win (docs/catalog.md)
        checkpoint(conn)  # no transaction open while pages are parsed
        for page in pages:
            if not page["html"]:
                stats["extract_skipped_no_html"] += 1
                continue
            result = extract_page(page["html"], page["url"], learned)
            result.rows = [
                r
                for r in result.rows
                if not (
                    r.extract_type == "product"
                    and superseded(r.extracted_data, r.schema_used, api_skus)
                )
            ]
            with jobs.held(conn, job):  # written only while this runner holds the job
                replace_rows(conn, domain_id, page["url"], result.rows)
                domain_patterns.record(conn, domain_id, result.patterns)
            learned = domain_patterns.load(conn, domain_id)
            checkpoint(conn)
            stats["extract_pages"] += 1
            stats["products"] += result.count("product")
            stats["faqs"] += result.count("faq")
            stats["contacts"] += result.count("contact")
        stats["platform"] = (learned.get("platform") or {}).get("platform")
    except psycopg.OperationalError as exc:
        raise TransientError(f"database unavailable during extraction: {exc}") from exc
    stats["extract_seconds"] = round(time.monotonic() - started, 3)
    return stats


def replace_rows(conn: Conn, domain_id: Any, url: str, rows: list[Any]) -> None:
    # Two deliveries of the same page at once must not both insert: serialise per page.
    conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"extract:{domain_id}:{url}",)
    )
    # Rows from the shop's API (workers/catalog) share the product page's URL: not ours to replace.
    conn.execute(
        "DELETE FROM structured_extractions WHERE domain_id = %s AND url = %s "
        "AND schema_used ->> 'source' IS DISTINCT FROM %s",
        (domain_id, url, API_SOURCE),
    )
    if rows:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO structured_extractions (domain_id, url, extract_type, extracted_data, "
                "  schema_used, confidence_score, extracted_at) VALUES (%s, %s, %s, %s, %s, %s, "
                "NOW())",
                [
                    (
                        domain_id,
                        url,
                        r.extract_type,
                        Jsonb(r.extracted_data),
                        Jsonb(r.schema_used),
                        r.confidence_score,
                    )
                    for r in rows
                ],
            )

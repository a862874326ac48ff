"""The optimize step of a job: each page's content optimised into `ai_optimized_content`.

`run_optimize(conn, job, settings)` is called by the workers core with the content_refresh_jobs row
(and the settings its actor read).
Idempotent: one upsert per page on (domain_id, url), and a page whose content hash, optimiser
and processing version are unchanged since its last optimisation is skipped (so re-optimising an
unchanged site costs no tokens) unless the job's metadata has "force": true.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import psycopg
import xxhash
from psycopg.types.json import Jsonb

from core.config import Settings
from db import jobs
from db.connection import Conn
from db.usage import add_usage
from workers.errors import TransientError
from workers.extract_job import checkpoint
from workers.job_pages import load_pages
from workers.optimization import PROCESSING_VERSION, PageInput, optimize, optimizer_name
from workers.optimization.base import Optimization
from workers.optimization.scores import content_quality_score, flesch_reading_ease, seo_score


def run_optimize(conn: Conn, job: dict[str, Any], settings: Settings) -> dict[str, Any]:
    started = time.monotonic()
    force = bool((job.get("metadata") or {}).get("force"))
    optimizer = optimizer_name(settings)
    requested_model = settings.chat_model if optimizer == "openai" else "offline"
    domain_id = job["domain_id"]
    stats: dict[str, Any] = {
        "optimizer": optimizer,
        "optimize_pages": 0,
        "optimize_skipped_unchanged": 0,
        "optimize_skipped_empty": 0,
        "optimize_requests": 0,
        "optimize_prompt_tokens": 0,
        "optimize_completion_tokens": 0,
        "optimize_tokens": 0,
        "optimize_cost": "0",
        "optimize_api_seconds": 0.0,
    }
    cost = Decimal(0)
    try:
        for page in load_pages(conn, job, "url, title, content, metadata"):
            source = _source(conn, domain_id, page)
            if not source["content"].strip():
                stats["optimize_skipped_empty"] += 1
                continue
            identity = {
                "source_content_hash": source["hash"],
                "optimizer": optimizer,
                "requested_model": requested_model,
            }
            if not force and _unchanged(conn, domain_id, page["url"], identity):
                stats["optimize_skipped_unchanged"] += 1
                continue
            extractions = extraction_summary(conn, domain_id, page["url"])
            checkpoint(conn)
            call_started = time.monotonic()
            result = optimize(source["input"], settings)
            stats["optimize_api_seconds"] += time.monotonic() - call_started
            try:
                with jobs.held(conn, job):  # written only while this runner holds the job
                    _upsert(conn, domain_id, page["url"], source, result, extractions, identity)
                    _record_usage(conn, domain_id, requested_model, result)
            except jobs.LeaseLost:
                # Taken over while the API answered: the result is not written (a newer run
                # owns the page now), but what was paid for is recorded whoever holds the job.
                with conn.transaction():
                    _record_usage(conn, domain_id, requested_model, result)
                raise
            checkpoint(conn)
            stats["optimize_pages"] += 1
            stats["optimize_requests"] += result.requests
            stats["optimize_prompt_tokens"] += result.prompt_tokens
            stats["optimize_completion_tokens"] += result.completion_tokens
            stats["optimize_tokens"] += result.tokens
            cost += result.cost
    except psycopg.OperationalError as exc:
        raise TransientError(f"database unavailable during optimisation: {exc}") from exc
    stats["optimize_cost"] = str(cost.quantize(Decimal("0.000001")))
    stats["optimize_api_seconds"] = round(stats["optimize_api_seconds"], 3)
    stats["optimize_seconds"] = round(time.monotonic() - started, 3)
    return stats


def _record_usage(conn: Conn, domain_id: Any, model: str, result: Optimization) -> None:
    if result.requests:
        add_usage(
            conn,
            domain_id,
            "optimization",
            model,
            tokens=result.tokens,
            requests=result.requests,
            cost=result.cost,
        )


def _source(conn: Conn, domain_id: Any, page: dict[str, Any]) -> dict[str, Any]:
    """The page's text: website_content (the crawler's cleaned copy) when there is one."""
    wc = conn.execute(
        "SELECT id, title, content, content_hash, content_type FROM website_content "
        "WHERE domain_id = %s AND url = %s",
        (domain_id, page["url"]),
    ).fetchone()
    content = (wc and wc["content"]) or page["content"] or ""
    metadata = page["metadata"] or {}
    headings = [
        h if isinstance(h, str) else str(h.get("text", "")) for h in metadata.get("headings") or []
    ]
    title = (wc and wc["title"]) or page["title"]
    return {
        "content": content,
        "hash": (wc and wc["content_hash"]) or xxhash.xxh3_128_hexdigest(content.encode()),
        "website_content_id": wc["id"] if wc else None,
        "content_type": wc["content_type"] if wc else None,
        "input": PageInput(
            url=page["url"],
            title=title,
            content=content,
            headings=[h for h in headings if h],
            description=metadata.get("description"),
            language=metadata.get("language"),
        ),
    }


def _unchanged(conn: Conn, domain_id: Any, url: str, identity: dict[str, str]) -> bool:
    row = conn.execute(
        "SELECT structured_data, processing_version FROM ai_optimized_content "
        "WHERE domain_id = %s AND url = %s",
        (domain_id, url),
    ).fetchone()
    if not row or row["processing_version"] != PROCESSING_VERSION:
        return False
    data = row["structured_data"] or {}
    return all(data.get(k) == v for k, v in identity.items())


def extraction_summary(conn: Conn, domain_id: Any, url: str) -> dict[str, Any]:
    """What extraction found on the page: counts per type and the products' key fields."""
    rows = conn.execute(
        "SELECT extract_type, extracted_data FROM structured_extractions "
        "WHERE domain_id = %s AND url = %s ORDER BY extract_type",
        (domain_id, url),
    ).fetchall()
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["extract_type"]] = counts.get(r["extract_type"], 0) + 1
    products = [
        {
            k: r["extracted_data"].get(k)
            for k in ("name", "sku", "price", "currency", "availability")
        }
        for r in rows
        if r["extract_type"] == "product"
    ]
    return {"counts": counts, "products": products}


def content_type_of(explicit: str | None, extractions: dict[str, Any]) -> str:
    counts = extractions["counts"]
    if explicit:
        return explicit
    if counts.get("product"):
        return "product"
    if counts.get("faq", 0) >= 2:
        return "faq"
    if counts.get("contact"):
        return "contact"
    return "page"


def _upsert(
    conn: Conn,
    domain_id: Any,
    url: str,
    source: dict[str, Any],
    result: Optimization,
    extractions: dict[str, Any],
    identity: dict[str, str],
) -> None:
    c = result.content
    headings = source["input"].headings
    conn.execute(
        "INSERT INTO ai_optimized_content (domain_id, source_content_id, url, content_type, "
        "raw_content, "
        "  optimized_title, optimized_summary, optimized_content, key_points, topics, meta_title, "
        "  meta_description, keywords, structured_data, readability_score, content_quality_score, "
        "  seo_score, ai_model_used, processing_version, processing_tokens, processing_cost, "
        "processed_at) "
        "VALUES (%(domain_id)s, %(source_id)s, %(url)s, %(content_type)s, %(raw)s, %(title)s, "
        "%(summary)s, "
        "  %(content)s, %(key_points)s, %(topics)s, %(meta_title)s, %(meta_description)s, "
        "%(keywords)s, "
        "  %(structured)s, %(readability)s, %(quality)s, %(seo)s, %(model)s, %(version)s, "
        "%(tokens)s, "
        "  %(cost)s, NOW()) "
        "ON CONFLICT (domain_id, url) DO UPDATE SET source_content_id = "
        "EXCLUDED.source_content_id, "
        "  content_type = EXCLUDED.content_type, raw_content = EXCLUDED.raw_content, "
        "  optimized_title = EXCLUDED.optimized_title, optimized_summary = "
        "EXCLUDED.optimized_summary, "
        "  optimized_content = EXCLUDED.optimized_content, key_points = EXCLUDED.key_points, "
        "  topics = EXCLUDED.topics, meta_title = EXCLUDED.meta_title, "
        "  meta_description = EXCLUDED.meta_description, keywords = EXCLUDED.keywords, "
        "  structured_data = EXCLUDED.structured_data, readability_score = "
        "EXCLUDED.readability_score, "
        "  content_quality_score = EXCLUDED.content_quality_score, seo_score = EXCLUDED.seo_score, "
        "  ai_model_used = EXCLUDED.ai_model_used, processing_version = "
        "EXCLUDED.processing_version, "
        "  processing_tokens = EXCLUDED.processing_tokens, processing_cost = "
        "EXCLUDED.processing_cost, "
        "  processed_at = EXCLUDED.processed_at, updated_at = NOW()",
        {
            "domain_id": domain_id,
            "source_id": source["website_content_id"],
            "url": url,
            "content_type": content_type_of(source["content_type"], extractions),
            "raw": source["content"],
            "title": c.title,
            "summary": c.summary,
            "content": c.content,
            "key_points": Jsonb(c.key_points),
            "topics": Jsonb(c.topics),
            "meta_title": c.meta_title,
            "meta_description": c.meta_description,
            "keywords": c.keywords,
            "structured": Jsonb({**identity, "extractions": extractions}),
            "readability": flesch_reading_ease(c.content),
            "quality": content_quality_score(c.content, headings),
            "seo": seo_score(c.meta_title, c.meta_description, c.content, headings, c.keywords),
            "model": result.model,
            "version": PROCESSING_VERSION,
            "tokens": result.tokens,
            "cost": result.cost.quantize(Decimal("0.0001")),
        },
    )

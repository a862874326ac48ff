"""Semantic search over a domain's chunks: embed the query with the model the domain's rows were
made with (vectors of different models are never compared), then the SQL search functions."""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from core.config import Settings
from core.errors import InvalidValue
from db.connection import Work, connect
from db.vector_indexes import sync
from workers.embedding import backend_for_model
from workers.refresh import find_domain

log = logging.getLogger(__name__)


def domain_model(conn: psycopg.Connection, domain_id: Any, settings: Settings) -> str | None:
    """The configured model if the domain has rows of it, else its most common model."""
    configured = settings.resolved_embedding_model
    if conn.execute(
        "SELECT 1 FROM page_embeddings e WHERE e.domain_id = %s AND e.metadata->>'model' = %s "
        "LIMIT 1",
        (domain_id, configured),
    ).fetchone():
        return configured
    row = conn.execute(
        "SELECT e.metadata->>'model' AS model, count(*) AS n FROM page_embeddings e "
        "WHERE e.domain_id = %s GROUP BY 1 ORDER BY n DESC LIMIT 1",
        (domain_id,),
    ).fetchone()
    return row["model"] if row else None


def search(
    conn: psycopg.Connection,
    query: str,
    domain: str,
    k: int = 10,
    hybrid: bool = False,
    *,
    settings: Settings,
) -> list[dict[str, Any]]:
    if not query.strip():
        raise InvalidValue("the query is empty")
    if k < 1:
        raise InvalidValue("-k must be at least 1")
    row = find_domain(conn, domain)
    model = domain_model(conn, row["id"], settings)
    if model is None:
        return []
    vector = backend_for_model(model, settings).embed([query]).vectors[0]
    if hybrid:
        rows = conn.execute(
            "SELECT url, title, similarity, chunk_text, metadata, score "
            "FROM hybrid_search(%s, %s, %s, %s, %s)",
            (query, vector, row["domain"], k, model),
        ).fetchall()
    else:
        rows = conn.execute(
            "SELECT url, title, similarity, chunk_text, metadata "
            "FROM search_embeddings(%s, %s, %s, %s)",
            (vector, row["domain"], k, model),
        ).fetchall()
    return [_result(r) for r in rows]


def page_facts(
    conn: psycopg.Connection, domain: str, urls: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """The structured facts (products, FAQs, contacts) of each page, by URL, best first."""
    if not urls:
        return {}
    row = find_domain(conn, domain)
    facts: dict[str, list[dict[str, Any]]] = {}
    for fact in conn.execute(
        "SELECT url, extract_type, extracted_data, confidence_score FROM structured_extractions "
        "WHERE domain_id = %s AND url = ANY(%s) ORDER BY url, confidence_score DESC NULLS LAST, id",
        (row["id"], list(dict.fromkeys(urls))),
    ).fetchall():
        facts.setdefault(fact["url"], []).append(
            {
                "type": fact["extract_type"],
                "data": fact["extracted_data"],
                "confidence": None
                if fact["confidence_score"] is None
                else float(fact["confidence_score"]),
            }
        )
    return facts


def _result(row: dict[str, Any]) -> dict[str, Any]:
    meta = row.get("metadata") or {}
    out = {
        "url": row["url"],
        "title": row["title"],
        "similarity": None if row["similarity"] is None else round(float(row["similarity"]), 6),
        "chunk": row["chunk_text"],
        "heading_path": meta.get("heading_path", []),
        "model": meta.get("model"),
    }
    if meta.get("page"):  # a document's chunk: link to the page it starts on
        out.update(page=meta["page"], link=f"{row['url']}#page={meta['page']}")
    elif row["url"].startswith("catalog:"):  # a shop API product: link to its shop page
        out["link"] = row["url"].split(":", 2)[2]
    if "score" in row:
        out["score"] = round(float(row["score"]), 6)
    return out


def sync_domain_index(domain_id: Any, settings: Settings) -> dict[str, Any]:
    """After an embed job: build (or drop) the domain's own HNSW index if its size crossed the
    threshold. Its own autocommit connection (CREATE INDEX CONCURRENTLY). The chunks are already
    committed, so a failure here is recorded in the job's metadata, not raised: search stays
    correct without the index (db/vector_indexes.py)."""
    if domain_id is None:
        return {}
    try:
        with connect(autocommit=True, work=Work.MAINTENANCE) as conn:
            result = sync(conn, settings.search_domain_index_rows, domain_ids=[domain_id])
    except psycopg.Error as exc:
        log.warning("vector index sync for domain %s failed: %s", domain_id, exc)
        return {"vector_index_error": str(exc).splitlines()[0]}
    return {"vector_index_" + key: value for key, value in result.items() if value}

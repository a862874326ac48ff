"""Semantic search over a domain's chunks: embed the query with the model the domain's rows were
made with (vectors of different models are never compared), then the SQL search functions."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

import psycopg

from core.config import Settings
from core.errors import InvalidValue
from db import keyword_stats
from db.connection import Conn, Work, connect
from db.vector_indexes import sync
from workers.embedding import backend_for_model
from workers.refresh import find_domain

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)


def domain_model(conn: Conn, domain_id: Any, settings: Settings) -> str | None:
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


def query_vectors(
    conn: Conn, queries: list[str], domain: str, *, settings: Settings
) -> list[np.ndarray] | None:
    """The queries embedded with the domain's model (None: the domain has no chunks)."""
    model = domain_model(conn, find_domain(conn, domain)["id"], settings)
    return None if model is None else backend_for_model(model, settings).embed(queries).vectors


def search(
    conn: Conn,
    query: str,
    domain: str,
    k: int = 10,
    hybrid: bool = False,
    *,
    settings: Settings,
    vector: np.ndarray | None = None,
    second_chunk_weight: float | None = None,
    **fusion: float | str,
) -> list[dict[str, Any]]:
    """The k best chunks for `query`; `vector` is the query already embedded with the domain's
    model (query_vectors), when the caller asks the same question more than once.
    `second_chunk_weight` overrides the setting of vector search's page support
    (page_supported); `fusion` the hybrid settings (fusion, vector_weight, keyword_weight,
    candidates, rrf_k)."""
    if not query.strip():
        raise InvalidValue("the query is empty")
    if k < 1:
        raise InvalidValue("-k must be at least 1")
    row = find_domain(conn, domain)
    model = domain_model(conn, row["id"], settings)
    if model is None:
        return []
    if vector is None:
        vector = backend_for_model(model, settings).embed([query]).vectors[0]
    if hybrid:
        tuning = {**hybrid_fusion(settings), **fusion}
        rows = conn.execute(
            "SELECT url, title, similarity, chunk_text, metadata, score "
            "FROM hybrid_search(%(q)s, %(v)s, %(d)s, %(k)s, %(m)s, rrf_k => %(rrf_k)s, "
            "vector_weight => %(vector_weight)s, keyword_weight => %(keyword_weight)s, "
            "candidates => %(candidates)s, fusion => %(fusion)s)",
            {"q": query, "v": vector, "d": row["domain"], "k": k, "m": model, **tuning},
        ).fetchall()
    else:
        weight = (
            settings.search_second_chunk_weight
            if second_chunk_weight is None
            else second_chunk_weight
        )
        if not weight:  # the chat app's call, as it is
            rows = conn.execute(
                "SELECT url, title, similarity, chunk_text, metadata "
                "FROM search_embeddings(%s, %s, %s, %s)",
                (vector, row["domain"], k, model),
            ).fetchall()
        else:
            # search_embeddings' own order (navigation and excluded pages last, migration 0112)
            # is kept as the first key: the page's kind comes with each chunk
            rows = page_supported(
                conn.execute(
                    "SELECT s.url, s.title, s.similarity, s.chunk_text, s.metadata, "
                    "is_not_knowledge(p.metadata) AS not_knowledge "
                    "FROM search_embeddings(%s, %s, %s, %s) WITH ORDINALITY s "
                    "JOIN scraped_pages p ON p.id = s.page_id ORDER BY s.ordinality",
                    (vector, row["domain"], max(k, settings.search_page_candidates), model),
                ).fetchall(),
                weight,
            )[:k]
    return [_result(r) for r in rows]


def page_supported(rows: list[dict[str, Any]], weight: float) -> list[dict[str, Any]]:
    """Vector search's chunks ranked by `score`: a chunk's similarity plus `weight` x the
    similarity of the best other chunk of its page among `rows`. A page's best chunk then scores
    best + weight x second best, so the distinct pages come in that order, while a page's weaker
    chunks stay low. Chunks of navigation and excluded pages (`not_knowledge`) stay after every
    content chunk; weight 0 keeps the rows' order."""
    if not weight:
        return rows
    by_page: dict[str, list[float]] = {}
    for r in rows:
        by_page.setdefault(r["url"], []).append(float(r["similarity"]))
    top2 = {url: sorted(sims, reverse=True)[:2] + [0.0] for url, sims in by_page.items()}

    def score(r: dict[str, Any]) -> float:
        first, second = top2[r["url"]][:2]
        similarity = float(r["similarity"])
        return similarity + weight * (second if similarity >= first else first)

    scored = [{**r, "score": score(r)} for r in rows]
    return sorted(scored, key=lambda r: (bool(r["not_knowledge"]), -r["score"]))


def hybrid_fusion(settings: Settings) -> dict[str, float | str]:
    """hybrid_search's fusion parameters from the settings."""
    return {
        "fusion": settings.hybrid_fusion,
        "vector_weight": settings.hybrid_vector_weight,
        "keyword_weight": settings.hybrid_keyword_weight,
        "candidates": settings.hybrid_candidates,
        "rrf_k": settings.hybrid_rrf_k,
    }


def page_facts(conn: Conn, domain: str, urls: list[str]) -> dict[str, list[dict[str, Any]]]:
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


def recount_keyword_stats(conn: Conn, domain_id: Any) -> dict[str, Any]:
    """After an embed job: recount the domain's own stop words for hybrid search
    (db/keyword_stats.py), committed. The chunks are already committed, so a failure here is
    recorded in the job's metadata, not raised: the scheduler's maintenance pass recounts a
    domain whose chunks changed in number, and until then hybrid search uses the last count."""
    if domain_id is None:
        return {}
    try:
        keyword_stats.refresh(conn, domain_id)
        conn.commit()
    except psycopg.Error as exc:
        with contextlib.suppress(psycopg.Error):
            conn.rollback()
        log.warning("keyword stats for domain %s failed: %s", domain_id, exc)
        return {"keyword_stats_error": str(exc).splitlines()[0]}
    return {}


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

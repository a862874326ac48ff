"""The embed job: a batch of pages into `page_embeddings`, embedding only what changed.

For each group of pages: chunk the content, compare chunk hashes with the page's rows of the
current model, embed only chunk texts that no row has (identical texts are embedded once,
and a text already embedded for another page of the same model is copied, not re-sent),
then in ONE transaction per group, holding the pages' row locks, re-plan against the rows as
they are now, delete removed chunks, refresh metadata of kept ones and binary-COPY the new
rows. Re-planning under the lock makes a redelivered or concurrent message a no-op instead of
a duplicate. Tokens, requests and cost go to `business_usage` and the job's metadata.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import numpy as np
import psycopg

from db.usage import add_usage
from omni.config import Settings
from workers.chunk_pages import with_pages
from workers.chunking import Chunk, chunk_document, chunk_hash, effective_sizes
from workers.embedding import EmbeddingBackend, get_backend
from workers.errors import TransientError
from workers.job_pages import job_page_ids, requested_ids

log = logging.getLogger(__name__)

PAGE_GROUP = 64          # pages per write transaction
REPLAN_ROUNDS = 3        # pages changing under us: give up after this many rounds
USAGE_TYPE = "embedding"


@dataclass(frozen=True)
class ExistingRow:
    id: UUID
    chunk_hash: str | None
    model: str | None
    chunk_index: int | None
    heading_path: tuple[str, ...]


@dataclass
class PagePlan:
    keep: list[tuple[UUID, Chunk]] = field(default_factory=list)   # (row, chunk now at it)
    delete: list[UUID] = field(default_factory=list)
    insert: list[Chunk] = field(default_factory=list)


def plan_page(chunks: list[Chunk], rows: list[ExistingRow], model: str,
              force: bool = False) -> PagePlan:
    """Match a page's new chunks to its rows by hash (pure). Rows of other models go."""
    plan = PagePlan()
    available: dict[str, list[ExistingRow]] = {}
    for row in rows:
        if force or row.model != model or not row.chunk_hash:
            plan.delete.append(row.id)
        else:
            available.setdefault(row.chunk_hash, []).append(row)
    for chunk in chunks:
        matches = available.get(chunk.hash)
        if matches:
            plan.keep.append((matches.pop(0).id, chunk))
        else:
            plan.insert.append(chunk)
    plan.delete.extend(row.id for rest in available.values() for row in rest)
    return plan


def page_text(title: str | None, content: str | None) -> str:
    text = (content or "").replace("\x00", "")
    if title and text.strip() and not text.lstrip().startswith("#"):
        text = f"# {title.strip()}\n\n{text}"   # the title becomes the root of heading paths
    return text


def chunk_metadata(chunk: Chunk, model: str) -> dict[str, Any]:
    meta = {"model": model, "chunk_hash": chunk.hash, "chunk_index": chunk.index,
            "heading_path": list(chunk.heading_path), "token_count": chunk.token_count}
    if chunk.page is not None:
        meta["page"] = chunk.page
    return meta


@dataclass
class EmbedStats:
    pages: int = 0
    pages_missing: int = 0
    chunks: int = 0
    chunks_embedded: int = 0
    chunks_copied: int = 0
    chunks_unchanged: int = 0
    chunks_deleted: int = 0
    tokens: int = 0
    requests: int = 0
    attempts: int = 0
    cost: float = 0.0
    embed_seconds: float = 0.0
    write_seconds: float = 0.0

    def as_metadata(self, model: str) -> dict[str, Any]:
        return {
            "embedding_model": model, "pages": self.pages, "pages_missing": self.pages_missing,
            "chunks": self.chunks, "chunks_embedded": self.chunks_embedded,
            "chunks_reused": self.chunks_copied, "chunks_unchanged": self.chunks_unchanged,
            "chunks_deleted": self.chunks_deleted, "tokens": self.tokens,
            "requests": self.requests, "request_attempts": self.attempts,
            "cost": round(self.cost, 8), "embed_seconds": round(self.embed_seconds, 3),
            "write_seconds": round(self.write_seconds, 3),
        }


def run_embed(conn: psycopg.Connection, job: dict[str, Any], settings: Settings,
              backend: EmbeddingBackend | None = None) -> dict[str, Any]:
    """Embed the job's pages (metadata `page_ids`; all the domain's pages when absent)."""
    backend = backend or get_backend(settings)
    metadata = job.get("metadata") or {}
    force = bool(metadata.get("force"))
    domain_id = job["domain_id"]
    if metadata.get("page_ids") is None:
        page_ids = [r["id"] for r in conn.execute(
            "SELECT id FROM scraped_pages WHERE domain_id = %s ORDER BY id", (domain_id,))]
    else:
        try:
            page_ids = [UUID(p) for p in job_page_ids(conn, job)]
        except psycopg.OperationalError as exc:
            raise TransientError(f"database unavailable before embedding: {exc}") from exc
    chunk_tokens = min(settings.chunk_tokens, backend.default_chunk_tokens)
    overlap = min(settings.chunk_overlap_tokens, max(0, chunk_tokens * 15 // 100))
    sizes = effective_sizes(chunk_tokens, overlap, backend.max_input_tokens)

    page_ids = list(dict.fromkeys(page_ids))
    run = _Run(conn, domain_id, backend, sizes, force)
    if metadata.get("page_ids") is not None:  # deleted since the job was made
        run.stats.pages_missing = len(requested_ids(job)) - len(page_ids)
    groups = [page_ids[i:i + PAGE_GROUP] for i in range(0, len(page_ids), PAGE_GROUP)]
    wave: list[list[UUID]] = []
    needed: dict[str, Chunk] = {}
    wave_tokens, wave_inputs = _wave_limits(backend)
    for group in groups:
        needed.update(run.plan(group))
        wave.append(group)
        # Embed in waves of several full requests: fewer half-empty requests than embedding
        # group by group, and bounded memory; each wave's groups are then written.
        if sum(c.token_count for c in needed.values()) >= wave_tokens or len(needed) >= wave_inputs:
            run.flush(wave, needed)
            wave, needed = [], {}
    if wave:
        run.flush(wave, needed)
    return run.stats.as_metadata(backend.model)


def _wave_limits(backend: EmbeddingBackend) -> tuple[int, int]:
    """(tokens, inputs) worth of texts to embed before writing: four rounds of full requests."""
    concurrency = getattr(backend, "concurrency", 1)
    tokens = getattr(backend, "max_tokens", 300_000) * concurrency * 4
    inputs = getattr(backend, "max_inputs", 512) * concurrency * 4
    return tokens, inputs


class _Run:
    def __init__(self, conn: psycopg.Connection, domain_id: Any, backend: EmbeddingBackend,
                 sizes: tuple[int, int], force: bool) -> None:
        self.conn, self.domain_id, self.backend = conn, domain_id, backend
        self.sizes, self.force = sizes, force
        self.stats = EmbedStats()
        self.vectors: dict[str, np.ndarray] = {}
        self.cache: dict[str, list[Chunk]] = {}

    def plan(self, page_ids: list[UUID]) -> dict[str, Chunk]:
        """Chunks the pages need whose text has no vector yet (by hash)."""
        conn, model = self.conn, self.backend.model
        pages = _load_pages(conn, self.domain_id, page_ids)
        plans = [plan_page(_chunks(pages[pid], self.sizes, self.backend, self.cache), rows, model,
                           self.force)
                 for pid, rows in _load_rows(conn, list(pages)).items()]
        needed = {c.hash: c for plan in plans for c in plan.insert if c.hash not in self.vectors}
        if needed and not self.force:
            copied = _reuse_vectors(conn, self.domain_id, list(needed), model)
            self.vectors.update(copied)
            self.stats.chunks_copied += len(copied)
            needed = {h: t for h, t in needed.items() if h not in copied}
        conn.commit()
        return needed

    def flush(self, groups: list[list[UUID]], needed: dict[str, Chunk]) -> None:
        if needed:
            _embed_texts(self.conn, self.domain_id, self.backend, needed, self.vectors, self.stats)
        for group in groups:
            self._write_group(group)
        self.vectors.clear()
        self.cache.clear()

    def _write_group(self, page_ids: list[UUID]) -> None:
        pending = page_ids
        for _ in range(REPLAN_ROUNDS):
            started = time.perf_counter()
            pending = _write(self.conn, self.domain_id, pending, self.backend, self.sizes,
                             self.force, self.vectors, self.stats, self.cache)
            self.stats.write_seconds += time.perf_counter() - started
            if not pending:
                return
            # Pages that changed since they were planned: plan and embed them again.
            log.info("%d pages changed while they were embedded; planning them again", len(pending))
            needed = self.plan(pending)
            if needed:
                _embed_texts(self.conn, self.domain_id, self.backend, needed, self.vectors,
                             self.stats)
        raise TransientError(f"{len(pending)} pages kept changing while they were embedded")


def _embed_texts(conn: psycopg.Connection, domain_id: Any, backend: EmbeddingBackend,
                 needed: dict[str, Chunk], vectors: dict[str, np.ndarray], stats: EmbedStats) -> None:
    hashes = list(needed)
    result = backend.embed([needed[h].text for h in hashes])
    vectors.update(zip(hashes, result.vectors))
    stats.tokens += result.tokens
    stats.requests += result.requests
    stats.attempts += result.attempts
    stats.cost += result.cost
    stats.embed_seconds += result.seconds
    # Recorded at once: the API was paid for even if the write below fails.
    add_usage(conn, domain_id, USAGE_TYPE, backend.model, tokens=result.tokens,
              requests=result.requests, cost=result.cost)
    conn.commit()


def _write(conn: psycopg.Connection, domain_id: Any, page_ids: list[UUID],
           backend: EmbeddingBackend, sizes: tuple[int, int], force: bool,
           vectors: dict[str, np.ndarray], stats: EmbedStats,
           cache: dict[str, list[Chunk]]) -> list[UUID]:
    """Apply the plans in one transaction; return pages that need another round."""
    model = backend.model
    deferred: list[UUID] = []
    inserts: list[tuple[UUID, Chunk]] = []
    deletes: list[UUID] = []
    updates: list[tuple[UUID, Chunk]] = []
    counted = {"chunks": 0, "unchanged": 0}
    with conn.transaction():
        locked = [r["id"] for r in conn.execute(
            "SELECT id FROM scraped_pages WHERE id = ANY(%s) AND domain_id = %s ORDER BY id "
            "FOR UPDATE", (page_ids, domain_id))]
        pages = _load_pages(conn, domain_id, locked)
        rows = _load_rows(conn, locked)
        for pid in locked:
            page = pages.get(pid)
            chunks = _chunks(page, sizes, backend, cache) if page else []
            plan = plan_page(chunks, rows.get(pid, []), model, force)
            if any(c.hash not in vectors for c in plan.insert):
                deferred.append(pid)
                continue
            deletes.extend(plan.delete)
            inserts.extend((pid, c) for c in plan.insert)
            updates.extend((rid, c) for rid, c in plan.keep)
            counted["chunks"] += len(chunks)
            counted["unchanged"] += len(plan.keep)
        if deletes:
            conn.execute("DELETE FROM page_embeddings WHERE id = ANY(%s)", (deletes,))
        if updates:
            with conn.cursor() as cur:
                cur.executemany(
                    "UPDATE page_embeddings SET metadata = %s WHERE id = %s "
                    "AND metadata IS DISTINCT FROM %s",
                    [(psycopg.types.json.Jsonb(chunk_metadata(c, model)), rid,
                      psycopg.types.json.Jsonb(chunk_metadata(c, model))) for rid, c in updates])
        if inserts:
            copy_rows(conn, ((pid, c.text, vectors[c.hash], chunk_metadata(c, model))
                             for pid, c in inserts))
    stats.pages += len(locked) - len(deferred)
    stats.pages_missing += len(set(page_ids) - set(locked))
    stats.chunks += counted["chunks"]
    stats.chunks_unchanged += counted["unchanged"]
    stats.chunks_deleted += len(deletes)
    stats.chunks_embedded += len(inserts)
    return deferred


def copy_rows(conn: psycopg.Connection,
              rows: Iterable[tuple[UUID, str, np.ndarray, dict[str, Any]]]) -> int:
    """Binary COPY into page_embeddings (pgvector's psycopg dumpers write the vectors)."""
    written = 0
    with conn.cursor() as cur, cur.copy(
            "COPY page_embeddings (page_id, chunk_text, embedding, metadata) "
            "FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["uuid", "text", "vector", "jsonb"])
        for page_id, text, vector, metadata in rows:
            copy.write_row((page_id, text, vector, psycopg.types.json.Jsonb(metadata)))
            written += 1
    return written


def _load_pages(conn: psycopg.Connection, domain_id: Any,
                page_ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, title, content, metadata->'page_starts' AS page_starts FROM scraped_pages "
        "WHERE domain_id = %s AND id = ANY(%s)",
        (domain_id, page_ids)).fetchall()
    return {r["id"]: r for r in rows}


def _load_rows(conn: psycopg.Connection, page_ids: list[UUID]) -> dict[UUID, list[ExistingRow]]:
    out: dict[UUID, list[ExistingRow]] = {pid: [] for pid in page_ids}
    for r in conn.execute(
            "SELECT id, page_id, metadata->>'chunk_hash' AS chunk_hash, metadata->>'model' AS model, "
            "(metadata->>'chunk_index')::int AS chunk_index, metadata->'heading_path' AS heading_path "
            "FROM page_embeddings WHERE page_id = ANY(%s) ORDER BY page_id, chunk_index",
            (page_ids,)):
        out.setdefault(r["page_id"], []).append(ExistingRow(
            r["id"], r["chunk_hash"], r["model"], r["chunk_index"],
            tuple(r["heading_path"] or ())))
    return out


def _reuse_vectors(conn: psycopg.Connection, domain_id: Any, hashes: list[str],
                   model: str) -> dict[str, np.ndarray]:
    """Vectors this model already produced for identical texts on other pages of the SAME domain.

    Never across domains: page_embeddings rows are tenant-writable, so a vector found by hash on
    another tenant's page could be one that tenant chose (docs/security.md)."""
    rows = conn.execute(
        "SELECT DISTINCT ON (e.metadata->>'chunk_hash') e.metadata->>'chunk_hash' AS chunk_hash, "
        "e.embedding FROM page_embeddings e JOIN scraped_pages p ON p.id = e.page_id "
        "WHERE e.metadata->>'chunk_hash' = ANY(%s) AND e.metadata->>'model' = %s "
        "AND p.domain_id = %s",
        (hashes, model, domain_id)).fetchall()
    return {r["chunk_hash"]: np.asarray(r["embedding"].to_numpy(), dtype=np.float32) for r in rows}


def _chunks(page: dict[str, Any], sizes: tuple[int, int], backend: EmbeddingBackend,
            cache: dict[str, list[Chunk]]) -> list[Chunk]:
    text = page_text(page["title"], page["content"])
    starts = page.get("page_starts")
    key = chunk_hash(f"{text}\x00{starts}" if starts else text)
    if key not in cache:
        cache[key] = chunk_document(text, sizes[0], sizes[1], backend.max_input_tokens)
        if starts:  # a document: the page each chunk starts on
            cache[key] = with_pages(cache[key], page["content"], starts)
    return cache[key]


MERGE_MAX_PAGES = 1000


def run_embed_merged(conn: psycopg.Connection, job: dict[str, Any],
                     settings: Settings) -> dict[str, Any]:
    """run_embed over this job and the domain's other pending embed jobs (claimed with SKIP
    LOCKED), so small jobs share full requests instead of each ending in a half-empty one.

    A claimed job's own message is acknowledged without work while this run lives (job_runner);
    if this run fails they go back to pending and their messages are sent again; if its worker
    is killed, the redelivered run claims them again. The work being idempotent, the rare
    interleaving where both run anyway costs time, never duplicates.
    """
    meta = job.get("metadata") or {}
    if meta.get("page_ids") is None:
        return run_embed(conn, job, settings)
    siblings = conn.execute(
        "UPDATE content_refresh_jobs j SET status = 'running', started_at = now(), "
        "error_message = NULL, metadata = j.metadata || jsonb_build_object('merged_into', %(id)s::text) "
        "WHERE j.id IN (SELECT s.id FROM content_refresh_jobs s WHERE s.job_type = 'embed' "
        "  AND s.origin = 'pipeline' "
        "  AND (s.status = 'pending' OR (s.status = 'running' "
        "       AND s.metadata->>'merged_into' = %(id)s::text)) "   # ours, from a killed run
        "  AND s.domain_id = %(domain)s AND s.id <> %(id)s "
        "  AND s.metadata ? 'page_ids' "
        "  AND COALESCE((s.metadata->>'force')::boolean, false) = %(force)s "
        "  AND jsonb_array_length(s.metadata->'page_ids') <= %(room)s "
        "  ORDER BY s.created_at LIMIT 20 FOR UPDATE SKIP LOCKED) "
        "RETURNING j.id, j.metadata",
        {"id": job["id"], "domain": job["domain_id"], "force": bool(meta.get("force")),
         "room": max(0, MERGE_MAX_PAGES - len(meta["page_ids"]))}).fetchall()
    conn.commit()
    page_ids = list(meta["page_ids"])
    for sibling in siblings:
        page_ids.extend(sibling["metadata"]["page_ids"])
    ids = [s["id"] for s in siblings]
    try:
        stats = run_embed(conn, {**job, "metadata": {**meta, "page_ids": page_ids}}, settings)
    except BaseException:
        conn.rollback()
        # Back to pending: each keeps its own message and is retried on its own.
        from workers.dispatch import send_job

        back = conn.execute(
            "UPDATE content_refresh_jobs SET status = 'pending', metadata = metadata - "
            "'merged_into' WHERE id = ANY(%s) AND status = 'running' RETURNING id", (ids,)).fetchall()
        conn.commit()
        for row in back:
            send_job(row["id"], "embed")
        raise
    if ids:
        conn.execute("UPDATE content_refresh_jobs SET status = 'completed', completed_at = now() "
                     "WHERE id = ANY(%s) AND status = 'running'", (ids,))
        conn.commit()
        stats["merged_jobs"] = [str(i) for i in ids]
    return stats

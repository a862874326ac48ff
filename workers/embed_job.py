"""The embed job: a batch of pages into `page_embeddings`, embedding only what changed.

For each group of pages: chunk the content, compare chunk hashes with the page's rows of the
current model, embed only chunk texts that no row has (identical texts are embedded once,
and a text already embedded for another page of the same model is copied, not re-sent),
then in ONE transaction per group, holding the pages' row locks and the job (`db.jobs.held`:
a runner that lost its job writes nothing), re-plan against the rows as they are now, delete
removed chunks, refresh metadata of kept ones and binary-COPY the new rows. Re-planning under
the lock makes a redelivered or concurrent message a no-op instead of a duplicate.

No transaction is open while pages are chunked or texts embedded. Each request's answer is a
checkpoint: its vectors (`embedding_checkpoints`) and the tokens, requests and cost it was
billed (`business_usage`) commit together as soon as it arrives, so a run that dies or fails
before writing its pages has paid for nothing the next run pays for again (it re-uses them by
hash) and every token billed is recorded; a page group's write removes the checkpoints it used.
Checkpoints that cannot be written (Postgres away) are retried for a minute on the way out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID

import numpy as np
import psycopg

from content.chunking import Chunk, chunk_document, chunk_hash, effective_sizes
from core.config import Settings
from core.knowledge import NOT_KNOWLEDGE
from db import embed_sizing, jobs, knowledge
from db.connection import Conn, transaction
from db.job_kinds import kind_of
from db.usage import add_usage
from workers.chunk_pages import with_pages
from workers.dispatch import send_job
from workers.embedding import EmbeddingBackend, EmbeddingResult, get_backend
from workers.errors import TransientError
from workers.job_pages import job_page_ids, requested_ids

log = logging.getLogger(__name__)

PAGE_GROUP = 64  # pages per write transaction
REPLAN_ROUNDS = 3  # pages changing under us: give up after this many rounds
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
    keep: list[tuple[UUID, Chunk]] = field(default_factory=list)  # (row, chunk now at it)
    delete: list[UUID] = field(default_factory=list)
    insert: list[Chunk] = field(default_factory=list)


def plan_page(
    chunks: list[Chunk], rows: list[ExistingRow], model: str, force: bool = False
) -> PagePlan:
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
        text = f"# {title.strip()}\n\n{text}"  # the title becomes the root of heading paths
    return text


def chunk_metadata(chunk: Chunk, model: str, language: str | None = None) -> dict[str, Any]:
    meta = {
        "model": model,
        "chunk_hash": chunk.hash,
        "chunk_index": chunk.index,
        "heading_path": list(chunk.heading_path),
        "token_count": chunk.token_count,
    }
    if chunk.page is not None:
        meta["page"] = chunk.page
    if language:  # chooses the keyword side's text search configuration (migration 0110)
        meta["language"] = language
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
            "embedding_model": model,
            "pages": self.pages,
            "pages_missing": self.pages_missing,
            "chunks": self.chunks,
            "chunks_embedded": self.chunks_embedded,
            "chunks_reused": self.chunks_copied,
            "chunks_unchanged": self.chunks_unchanged,
            "chunks_deleted": self.chunks_deleted,
            "tokens": self.tokens,
            "requests": self.requests,
            "request_attempts": self.attempts,
            "cost": round(self.cost, 8),
            "embed_seconds": round(self.embed_seconds, 3),
            "write_seconds": round(self.write_seconds, 3),
        }


def run_embed(
    conn: Conn,
    job: dict[str, Any],
    settings: Settings,
    backend: EmbeddingBackend | None = None,
) -> dict[str, Any]:
    """Embed the job's pages (metadata `page_ids`; all the domain's pages when absent)."""
    backend = backend or get_backend(settings)
    metadata = job.get("metadata") or {}
    force = bool(metadata.get("force"))
    domain_id = job["domain_id"]
    if metadata.get("page_ids") is None:
        page_ids = [
            r["id"]
            for r in conn.execute(
                "SELECT id FROM scraped_pages WHERE domain_id = %s ORDER BY id", (domain_id,)
            )
        ]
    else:
        try:
            page_ids = [UUID(p) for p in job_page_ids(conn, job)]
        except psycopg.OperationalError as exc:
            raise TransientError(f"database unavailable before embedding: {exc}") from exc
    chunk_tokens = min(settings.chunk_tokens, backend.default_chunk_tokens)
    overlap = min(settings.chunk_overlap_tokens, max(0, chunk_tokens * 15 // 100))
    sizes = effective_sizes(chunk_tokens, overlap, backend.max_input_tokens)

    page_ids = list(dict.fromkeys(page_ids))
    run = _Run(conn, job, backend, sizes, force)
    if metadata.get("page_ids") is not None:  # deleted since the job was made
        run.stats.pages_missing = len(requested_ids(job)) - len(page_ids)
    groups = [page_ids[i : i + PAGE_GROUP] for i in range(0, len(page_ids), PAGE_GROUP)]
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


SAVE_RETRY_S = 60.0  # how long checkpoints are retried when Postgres is away


class _Run:
    def __init__(
        self,
        conn: Conn,
        job: dict[str, Any],
        backend: EmbeddingBackend,
        sizes: tuple[int, int],
        force: bool,
    ) -> None:
        self.conn, self.job, self.domain_id, self.backend = conn, job, job["domain_id"], backend
        self.sizes, self.force = sizes, force
        self.stats = EmbedStats()
        self.vectors: dict[str, np.ndarray] = {}
        self.cache: dict[str, list[Chunk]] = {}
        # checkpoints whose write failed (Postgres away): (hashes, vectors, usage)
        self.unsaved: list[tuple[list[str], list[np.ndarray], EmbeddingResult]] = []

    def plan(self, page_ids: list[UUID]) -> dict[str, Chunk]:
        """Chunks the pages need whose text has no vector yet (by hash). Reads in short
        transactions; the chunking happens between them, with none open."""
        conn, model = self.conn, self.backend.model
        pages = _load_pages(conn, self.domain_id, page_ids)
        rows = _load_rows(conn, list(pages))
        conn.commit()
        plans = [
            plan_page(
                _chunks(pages[pid], self.sizes, self.backend, self.cache),
                page_rows,
                model,
                self.force,
            )
            for pid, page_rows in rows.items()
        ]
        needed = {c.hash: c for plan in plans for c in plan.insert if c.hash not in self.vectors}
        if needed:
            # checkpoints of an earlier run of ours (even with force: they were made for it);
            # without force, identical texts already embedded for the domain's other pages too
            copied = _reuse_vectors(
                conn, self.domain_id, list(needed), model, checkpoints_only=self.force
            )
            conn.commit()
            self.vectors.update(copied)
            self.stats.chunks_copied += len(copied)
            needed = {h: t for h, t in needed.items() if h not in copied}
        return needed

    def flush(self, groups: list[list[UUID]], needed: dict[str, Chunk]) -> None:
        try:
            if needed:
                self._embed(needed, groups)
            for group in groups:
                self._write_group(group)
        except BaseException:
            self.save_unsaved()
            raise
        self.vectors.clear()
        self.cache.clear()

    def _embed(self, needed: dict[str, Chunk], groups: list[list[UUID]]) -> None:
        # Nothing is paid for by a runner that lost its job: the job is checked first.
        with jobs.held(self.conn, self.job):
            pass
        hashes = list(needed)

        def checkpoint(
            indexes: list[int], vectors: list[np.ndarray], usage: EmbeddingResult
        ) -> None:
            self._checkpoint([hashes[i] for i in indexes], vectors, usage)

        try:
            result = self.backend.embed(
                [needed[h].embedding_text for h in hashes], on_batch=checkpoint
            )
        except BaseException as exc:
            partial = getattr(exc, "partial", None)
            if partial is None:
                raise
            # Some requests succeeded (checkpointed as they came): the pages they complete are
            # written; the retry re-uses the rest of their vectors by hash.
            self.stats.attempts += partial.attempts
            self.stats.embed_seconds += partial.seconds
            self.vectors.update({hashes[i]: v for i, v in partial.by_index.items()})
            try:
                for group in groups:
                    _write(self, group)
            except Exception:
                log.warning(
                    "could not write the vectors of the requests that succeeded", exc_info=True
                )
            raise
        self.stats.attempts += result.attempts
        self.stats.embed_seconds += result.seconds
        self.vectors.update(zip(hashes, result.vectors, strict=False))

    def _checkpoint(
        self, hashes: list[str], vectors: list[np.ndarray], usage: EmbeddingResult
    ) -> None:
        """One request's answer: its vectors and the tokens it cost, in one transaction, as
        soon as it arrives. Not fenced by the lease: what was paid for is recorded whoever
        holds the job now, and the vectors serve whoever writes the pages."""
        self.vectors.update(zip(hashes, vectors, strict=False))
        stats = self.stats
        stats.tokens += usage.tokens
        stats.requests += usage.requests
        stats.cost += usage.cost
        try:
            with self.conn.transaction():
                _save_checkpoint(
                    self.conn, self.domain_id, self.backend.model, hashes, vectors, usage
                )
        except psycopg.Error:
            # Any database failure (a lost connection, a session the server ended for idling
            # in a transaction while the link was stalled): kept, written on the way out. It
            # must not raise: the other requests' answers would be dropped with it.
            self.unsaved.append((hashes, vectors, usage))

    def save_unsaved(self) -> None:
        """Checkpoints whose write failed, on fresh connections, retried while Postgres comes
        back (the API was paid: its tokens must be recorded)."""
        deadline = time.monotonic() + SAVE_RETRY_S
        while self.unsaved:
            hashes, vectors, usage = self.unsaved[0]
            try:
                with transaction() as conn:
                    _save_checkpoint(
                        conn, self.domain_id, self.backend.model, hashes, vectors, usage
                    )
                self.unsaved.pop(0)
            except psycopg.Error as exc:
                if time.monotonic() > deadline:
                    log.error(
                        "%d embedding checkpoints (%d tokens) could not be recorded: %s",
                        len(self.unsaved),
                        sum(u.tokens for _, _, u in self.unsaved),
                        exc,
                    )
                    return
                time.sleep(1.0)

    def _write_group(self, page_ids: list[UUID]) -> None:
        pending = page_ids
        for _ in range(REPLAN_ROUNDS):
            pending = _write(self, pending)
            if not pending:
                return
            # Pages that changed since they were planned: plan and embed them again.
            log.info("%d pages changed while they were embedded; planning them again", len(pending))
            needed = self.plan(pending)
            if needed:
                self._embed(needed, [])
        raise TransientError(f"{len(pending)} pages kept changing while they were embedded")


def _write(run: _Run, page_ids: list[UUID]) -> list[UUID]:
    """Apply the plans in one transaction, with the usage not yet written; return pages that
    need another round. A page whose text was not chunked before (it changed since it was
    planned) is deferred: no chunking while its row is locked."""
    started = time.perf_counter()
    conn, domain_id, backend, stats = run.conn, run.domain_id, run.backend, run.stats
    model, force, vectors = backend.model, run.force, run.vectors
    deferred: list[UUID] = []
    inserts: list[tuple[UUID, Chunk]] = []
    deletes: list[UUID] = []
    updates: list[tuple[UUID, Chunk, str | None]] = []
    counted = {"chunks": 0, "unchanged": 0}
    with jobs.held(conn, run.job):
        locked = [
            r["id"]
            for r in conn.execute(
                "SELECT id FROM scraped_pages WHERE id = ANY(%s) AND domain_id = %s ORDER BY id "
                "FOR UPDATE",
                (page_ids, domain_id),
            )
        ]
        pages = _load_pages(conn, domain_id, locked)
        rows = _load_rows(conn, locked)
        for pid in locked:
            page = pages.get(pid)
            chunks = _cached_chunks(page, run.cache) if page else []
            if chunks is None:
                deferred.append(pid)
                continue
            plan = plan_page(chunks, rows.get(pid, []), model, force)
            if any(c.hash not in vectors for c in plan.insert):
                deferred.append(pid)
                continue
            deletes.extend(plan.delete)
            inserts.extend((pid, c) for c in plan.insert)
            updates.extend((rid, c, page["language"] if page else None) for rid, c in plan.keep)
            counted["chunks"] += len(chunks)
            counted["unchanged"] += len(plan.keep)
        if deletes:
            conn.execute("DELETE FROM page_embeddings WHERE id = ANY(%s)", (deletes,))
        if updates:
            with conn.cursor() as cur:
                cur.executemany(
                    "UPDATE page_embeddings SET metadata = %s WHERE id = %s "
                    "AND metadata IS DISTINCT FROM %s",
                    [
                        (
                            psycopg.types.json.Jsonb(chunk_metadata(c, model, language)),
                            rid,
                            psycopg.types.json.Jsonb(chunk_metadata(c, model, language)),
                        )
                        for rid, c, language in updates
                    ],
                )
        if inserts:
            copy_rows(
                conn,
                (
                    (pid, c.text, vectors[c.hash], chunk_metadata(c, model, pages[pid]["language"]))
                    for pid, c in inserts
                ),
            )
            # their vectors are in page_embeddings now: the checkpoints have served
            conn.execute(
                "DELETE FROM embedding_checkpoints WHERE domain_id = %s AND model = %s "
                "AND chunk_hash = ANY(%s)",
                (domain_id, model, list({c.hash for _, c in inserts})),
            )
        curated = [pid for pid in locked if pid not in deferred and pages[pid].get("curated")]
        if curated:
            knowledge.mark_embedded(conn, curated)
    stats.write_seconds += time.perf_counter() - started
    stats.pages += len(locked) - len(deferred)
    stats.pages_missing += len(set(page_ids) - set(locked))
    stats.chunks += counted["chunks"]
    stats.chunks_unchanged += counted["unchanged"]
    stats.chunks_deleted += len(deletes)
    stats.chunks_embedded += len(inserts)
    return deferred


def copy_rows(conn: Conn, rows: Iterable[tuple[UUID, str, np.ndarray, dict[str, Any]]]) -> int:
    """Binary COPY into page_embeddings (pgvector's psycopg dumpers write the vectors)."""
    written = 0
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY page_embeddings (page_id, chunk_text, embedding, metadata) "
            "FROM STDIN WITH (FORMAT BINARY)"
        ) as copy,
    ):
        copy.set_types(["uuid", "text", "vector", "jsonb"])
        for page_id, text, vector, metadata in rows:
            copy.write_row((page_id, text, vector, psycopg.types.json.Jsonb(metadata)))
            written += 1
    return written


def _load_pages(conn: Conn, domain_id: Any, page_ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, title, content, metadata->>'markdown' AS markdown, "
        "metadata->>'language' AS language, "
        "metadata->'page_starts' AS page_starts, metadata->'curated' AS curated, "
        "metadata->>'page_kind' AS page_kind FROM scraped_pages "
        "WHERE domain_id = %s AND id = ANY(%s)",
        (domain_id, page_ids),
    ).fetchall()
    return {r["id"]: r for r in rows}


def _load_rows(conn: Conn, page_ids: list[UUID]) -> dict[UUID, list[ExistingRow]]:
    out: dict[UUID, list[ExistingRow]] = {pid: [] for pid in page_ids}
    for r in conn.execute(
        "SELECT id, page_id, metadata->>'chunk_hash' AS chunk_hash, metadata->>'model' AS model, "
        "(metadata->>'chunk_index')::int AS chunk_index, metadata->'heading_path' AS heading_path "
        "FROM page_embeddings WHERE page_id = ANY(%s) ORDER BY page_id, chunk_index",
        (page_ids,),
    ):
        out.setdefault(r["page_id"], []).append(
            ExistingRow(
                r["id"],
                r["chunk_hash"],
                r["model"],
                r["chunk_index"],
                tuple(r["heading_path"] or ()),
            )
        )
    return out


def _save_checkpoint(
    conn: Conn,
    domain_id: Any,
    model: str,
    hashes: list[str],
    vectors: list[np.ndarray],
    usage: EmbeddingResult,
) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO embedding_checkpoints (domain_id, model, chunk_hash, embedding) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [(domain_id, model, h, v) for h, v in zip(hashes, vectors, strict=False)],
        )
    add_usage(
        conn,
        domain_id,
        USAGE_TYPE,
        model,
        tokens=usage.tokens,
        requests=usage.requests,
        cost=usage.cost,
    )


def _reuse_vectors(
    conn: Conn,
    domain_id: Any,
    hashes: list[str],
    model: str,
    checkpoints_only: bool = False,
) -> dict[str, np.ndarray]:
    """Vectors this model already produced for identical texts of the SAME domain: checkpoints
    of an earlier run (service-only rows), then rows of the domain's other pages.

    Never across domains: page_embeddings rows are tenant-writable, so a vector found by hash on
    another tenant's page could be one that tenant chose (docs/security.md)."""
    found = {
        r["chunk_hash"]: np.asarray(r["embedding"].to_numpy(), dtype=np.float32)
        for r in conn.execute(
            "SELECT chunk_hash, embedding FROM embedding_checkpoints WHERE domain_id = %s "
            "AND model = %s AND chunk_hash = ANY(%s)",
            (domain_id, model, hashes),
        )
    }
    hashes = [h for h in hashes if h not in found]
    if checkpoints_only or not hashes:
        return found
    rows = conn.execute(
        "SELECT DISTINCT ON (e.metadata->>'chunk_hash') e.metadata->>'chunk_hash' AS chunk_hash, "
        "e.embedding FROM page_embeddings e JOIN scraped_pages p ON p.id = e.page_id "
        "WHERE e.metadata->>'chunk_hash' = ANY(%s) AND e.metadata->>'model' = %s "
        "AND p.domain_id = %s",
        (hashes, model, domain_id),
    ).fetchall()
    found.update(
        {r["chunk_hash"]: np.asarray(r["embedding"].to_numpy(), dtype=np.float32) for r in rows}
    )
    return found


def _curated_question(page: dict[str, Any]) -> str:
    """A curated answer's question (db/knowledge.py): its chunks are found by it."""
    return (page["title"] or "").strip() if (page.get("curated") or {}).get("type") == "qa" else ""


def _chunk_key(page: dict[str, Any]) -> str:
    text = page_text(page["title"], page_source(page))
    starts = page.get("page_starts")
    return chunk_hash(f"{page['title']}\x00{text}\x00{starts}\x00{_curated_question(page)}")


def _is_knowledge(page: dict[str, Any]) -> bool:
    """Navigation and excluded pages are never chunked: their rows go (core/knowledge.py)."""
    return page.get("page_kind") not in NOT_KNOWLEDGE


def _cached_chunks(page: dict[str, Any], cache: dict[str, list[Chunk]]) -> list[Chunk] | None:
    return cache.get(_chunk_key(page)) if _is_knowledge(page) else []


def page_source(page: dict[str, Any]) -> str | None:
    """What a page is chunked from: its main content's Markdown (headings, code, tables), where
    the crawl or the main-content stage stored one; a document (PDF: pages to map chunks to)
    and a page without Markdown, its text."""
    if page.get("page_starts") or not (page.get("markdown") or "").strip():
        return page["content"]
    return page["markdown"]


def _chunks(
    page: dict[str, Any],
    sizes: tuple[int, int],
    backend: EmbeddingBackend,
    cache: dict[str, list[Chunk]],
) -> list[Chunk]:
    if not _is_knowledge(page):
        return []
    text = page_text(page["title"], page_source(page))
    starts = page.get("page_starts")
    question = _curated_question(page)
    key = _chunk_key(page)
    if key not in cache:
        cache[key] = chunk_document(
            text, sizes[0], sizes[1], backend.max_input_tokens, title=page["title"]
        )
        if starts:  # a document: the page each chunk starts on
            cache[key] = with_pages(cache[key], page["content"], starts)
        if question:  # a curated answer is found by its question (db/knowledge.py)
            cache[key] = [
                replace(c, embed_text=question, hash=chunk_hash(f"{question}\x00{c.text}"))
                for c in cache[key]
            ]
    return cache[key]


MERGE_MAX_PAGES = 1000


def run_embed_merged(conn: Conn, job: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """run_embed over this job and the domain's other pending embed jobs (`jobs.claim_siblings`,
    SKIP LOCKED), so small jobs share full requests instead of each ending in a half-empty one.

    Sized from measured throughput (db/embed_sizing.py): a job whose pages would take more
    than the budget keeps the first part and hands the rest to new jobs, and siblings join only
    while the whole stays within it.

    The siblings run under this job's runner token and lease: their own messages find them
    running under a live lease and are acknowledged without work; this run completes them, or
    on failure puts them back to pending (on a fresh connection: this one may be what failed)
    and sends their messages again. If its worker dies, the lease of all of them expires and
    the sweeper retries each on its own (or the redelivered leader claims them again).
    """
    meta = job.get("metadata") or {}
    if meta.get("page_ids") is None:
        return run_embed(conn, job, settings)
    page_ids, room_tokens = _sized(conn, job, settings)
    siblings = jobs.claim_siblings(
        conn,
        job,
        force=bool(meta.get("force")),
        room=MERGE_MAX_PAGES - len(page_ids),
        room_tokens=room_tokens,
        lease_s=settings.job_lease_s,
    )
    conn.commit()
    for sibling in siblings:
        page_ids.extend(sibling["metadata"]["page_ids"])
    ids = [s["id"] for s in siblings]
    try:
        stats = run_embed(conn, {**job, "metadata": {**meta, "page_ids": page_ids}}, settings)
    except BaseException as exc:
        conn.rollback()
        _hand_back(ids, job["runner"], exc)
        raise
    if ids:
        with jobs.held(conn, job):
            jobs.complete_siblings(conn, ids, job["runner"])
        stats["merged_jobs"] = [str(i) for i in ids]
    return stats


def _sized(conn: Conn, job: dict[str, Any], settings: Settings) -> tuple[list[str], int]:
    """The job's pages that fit the budget (the rest split off into new jobs, sent), and the
    estimated tokens still free for siblings."""
    model = settings.resolved_embedding_model
    rate = embed_sizing.measured_rate(conn, model) or embed_sizing.prior_rate(
        settings.resolved_embedding_backend
    )
    budget = embed_sizing.token_budget(
        rate, getattr(settings, kind_of(jobs.JobType.EMBED).time_limit_s)
    )
    job_page_ids(conn, job)  # a forged page id fails the job here, before anything is split
    requested = [str(p) for p in job["metadata"]["page_ids"]]
    tokens = embed_sizing.page_tokens(conn, job["domain_id"], requested)
    conn.commit()
    keep, *rest = embed_sizing.split_by_tokens(requested, tokens, budget, MERGE_MAX_PAGES) or [[]]
    if rest:  # committed by split_off before any message is sent
        new_ids = jobs.split_off(conn, job, keep, rest)
        log.info(
            "embed job %s: %d pages over its budget of %d tokens (%.0f tokens/s) moved to %d "
            "new jobs",
            job["id"],
            sum(len(r) for r in rest),
            budget,
            rate,
            len(new_ids),
        )
        for new_id in new_ids:
            try:
                send_job(new_id, jobs.JobType.EMBED)
            except Exception:  # noqa: BLE001 - the rows are committed: the sweeper sends
                log.warning("embed job %s: not sent; the sweeper will", new_id, exc_info=True)
                break
    return keep, budget - sum(tokens.get(p, 0) for p in keep)


def _hand_back(ids: list[Any], runner: str, exc: BaseException) -> None:
    """The siblings back to pending, each to be retried on its own, and their messages sent;
    if Postgres or Redis is away, their lease expires and the sweeper does it."""
    if not ids:
        return
    try:
        with transaction() as fresh:
            back = jobs.release_siblings(
                fresh, ids, runner, f"the embed job it was merged into failed: {exc}"
            )
        for row in back:
            send_job(row["id"], row["job_type"])
    except Exception:
        log.warning(
            "could not hand back %d merged embed jobs; their leases will expire",
            len(ids),
            exc_info=True,
        )

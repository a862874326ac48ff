"""Curated answers: `training_data` rows of type `qa` and `text` as knowledge (docs/privacy.md
#curated-answers).

A curated answer is searched like a page because it is one: `sync` keeps a `scraped_pages` row
`curated:<training_data id>` per answer (title = the question or the text's title, content = the
answer or text, `metadata.curated` = {training_id, type, fingerprint}), and the embed job chunks
and embeds it like any page, so the search functions and every retrieval path read it unchanged.
Not http(s), so the crawler never fetches or overwrites it (as the catalogue's `catalog:` pages).
The embed job gives a `qa` answer's chunks the vector of its question (workers/embed_job.py):
a shopper's question is compared with the operator's question, so the curated answer ranks
above crawled text for the same question.

Edited, only its page changes, and only that page is re-embedded; deleted (by any client), its
page goes at once (0120's trigger) and the next `sync` removes any page left without its row.
`status`: pending (saved, not yet searchable), completed (embedded), failed (embedding failed),
disabled (kept, not searched) - the values the chat application writes.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import xxhash
from psycopg.types.json import Jsonb

from core.errors import InvalidValue, NotFound
from db import jobs
from db.connection import Conn, one
from db.forget import remove_pages

URL_PREFIX = "curated:"
TYPES = ("qa", "text")
SEARCHED_STATUSES = ("pending", "processing", "completed", "failed")
MAX_CHARS = 20_000


def page_url(training_id: UUID | str) -> str:
    return f"{URL_PREFIX}{training_id}"


def fingerprint(kind: str, question: str, answer: str) -> str:
    return xxhash.xxh3_64_hexdigest(f"{kind}\x00{question}\x00{answer}".encode())


def check_answer(kind: str, question: str, answer: str) -> tuple[str, str]:
    """The cleaned question and answer, or a clear error (pure)."""
    if kind not in TYPES:
        raise InvalidValue(f"unknown type {kind!r}; expected one of {', '.join(TYPES)}")
    question, answer = (question or "").strip(), (answer or "").strip()
    if not question:
        raise InvalidValue("the question (or title) is empty")
    if not answer:
        raise InvalidValue("the answer (or text) is empty")
    if len(question) + len(answer) > MAX_CHARS:
        raise InvalidValue(f"a curated answer holds at most {MAX_CHARS} characters")
    return question, answer


def add(
    conn: Conn, domain: dict[str, Any], question: str, answer: str, kind: str = "qa"
) -> dict[str, Any]:
    question, answer = check_answer(kind, question, answer)
    return one(
        conn.execute(
            "INSERT INTO training_data (user_id, domain_id, type, input_text, output_text, "
            "metadata, "
            "status) VALUES (%s, %s, %s, %s, %s, %s, 'pending') RETURNING *",
            (
                domain.get("user_id"),
                domain["id"],
                kind,
                question,
                answer,
                Jsonb({"source": "omni knowledge"}),
            ),
        )
    )


def edit(
    conn: Conn, training_id: UUID | str, question: str | None, answer: str | None
) -> dict[str, Any]:
    row = get(conn, training_id)
    question, answer = check_answer(
        row["type"], question or row["input_text"], answer or row["output_text"]
    )
    return one(
        conn.execute(
            "UPDATE training_data SET input_text = %s, output_text = %s, status = 'pending' "
            "WHERE id = %s RETURNING *",
            (question, answer, row["id"]),
        )
    )


def remove(conn: Conn, training_id: UUID | str) -> dict[str, Any]:
    row = get(conn, training_id)
    conn.execute("DELETE FROM training_data WHERE id = %s", (row["id"],))
    return row


def get(conn: Conn, training_id: UUID | str) -> dict[str, Any]:
    try:
        UUID(str(training_id))
    except ValueError:
        raise InvalidValue(f"{training_id!r} is not a curated answer id") from None
    row = conn.execute(
        "SELECT * FROM training_data WHERE id = %s AND type = ANY(%s)",
        (str(training_id), list(TYPES)),
    ).fetchone()
    if row is None:
        raise NotFound(f"no curated answer {training_id}")
    return row


def list_answers(conn: Conn, domain_id: UUID | str | None = None) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT t.id, t.domain_id, d.domain, t.type, t.input_text AS question, "
        "t.output_text AS answer, t.status, t.created_at, t.updated_at, "
        "(SELECT count(*) FROM page_embeddings e JOIN scraped_pages p ON p.id = e.page_id "
        "  WHERE p.domain_id = t.domain_id AND p.url = 'curated:' || t.id::text) AS chunks "
        "FROM training_data t JOIN domains d ON d.id = t.domain_id "
        "WHERE t.type = ANY(%s) AND (%s::uuid IS NULL OR t.domain_id = %s) "
        "ORDER BY d.domain, t.created_at",
        (list(TYPES), domain_id, domain_id),
    ).fetchall()


def sync(conn: Conn, domain_id: UUID | str) -> dict[str, Any]:
    """Make the domain's curated pages match its training_data rows, in the caller's
    transaction. Returns the ids of pages to (re-)embed and how many were removed."""
    rows = conn.execute(
        "SELECT id, type, input_text, output_text FROM training_data WHERE domain_id = %s "
        "AND type = ANY(%s) AND COALESCE(status, 'pending') = ANY(%s)",
        (domain_id, list(TYPES), list(SEARCHED_STATUSES)),
    ).fetchall()
    pages = {
        r["url"]: r
        for r in conn.execute(
            "SELECT id, url, metadata->'curated'->>'fingerprint' AS fingerprint FROM scraped_pages "
            "WHERE domain_id = %s AND url LIKE 'curated:%%'",
            (domain_id,),
        )
    }
    changed: list[str] = []
    wanted: set[str] = set()
    for row in rows:
        url = page_url(row["id"])
        wanted.add(url)
        mark = fingerprint(row["type"], row["input_text"], row["output_text"])
        before = pages.get(url)
        if before is not None and before["fingerprint"] == mark:
            continue
        metadata = {
            "content_type": "curated_answer",
            "curated": {"training_id": str(row["id"]), "type": row["type"], "fingerprint": mark},
        }
        page = one(
            conn.execute(
                "INSERT INTO scraped_pages (domain_id, url, title, content, metadata, status, "
                "scraped_at) "
                "VALUES (%s, %s, %s, %s, %s, 'scraped', now()) ON CONFLICT (domain_id, url) DO "
                "UPDATE "
                "SET title = EXCLUDED.title, content = EXCLUDED.content, metadata = "
                "EXCLUDED.metadata, "
                "status = 'scraped', scraped_at = now() RETURNING id",
                (domain_id, url, row["input_text"], row["output_text"], Jsonb(metadata)),
            )
        )
        conn.execute(
            "UPDATE training_data SET status = 'pending' WHERE id = %s "
            "AND status IS DISTINCT FROM 'pending'",
            (row["id"],),
        )
        changed.append(str(page["id"]))
    gone = [p["id"] for url, p in pages.items() if url not in wanted]
    removed = remove_pages(conn, domain_id, gone, "curated answer deleted or disabled")
    # Curated pages are never stale content (the scheduler would queue re-crawls of them).
    conn.execute(
        "UPDATE scraped_pages SET scraped_at = now() WHERE domain_id = %s "
        "AND url LIKE 'curated:%%' AND scraped_at < now() - interval '1 day'",
        (domain_id,),
    )
    return {"page_ids": changed, "removed": removed["scraped_pages"]}


def mark_embedded(conn: Conn, page_ids: list[Any]) -> None:
    """The curated answers among `page_ids` are searchable now (the embed job's transaction)."""
    conn.execute(
        "UPDATE training_data t SET status = 'completed' FROM scraped_pages p "
        "WHERE p.id = ANY(%s) AND p.url = 'curated:' || t.id::text AND p.domain_id = t.domain_id "
        "AND t.status IS DISTINCT FROM 'completed' AND t.status IS DISTINCT FROM 'disabled'",
        (page_ids,),
    )


def sync_job(conn: Conn, domain_id: UUID | str) -> tuple[Any, dict[str, Any]]:
    """`sync`, then an embed job for the pages it changed (None when none did), in the caller's
    transaction: commit, then send the job's message."""
    result = sync(conn, domain_id)
    if not result["page_ids"]:
        return None, result
    return jobs.create(
        conn,
        domain_id,
        jobs.JobType.EMBED,
        {"page_ids": result["page_ids"], "trigger": "knowledge"},
    ), result

"""What a page puts into search, written the way the workers write it, and read back: the rows
`db.forget.forget_pages` must remove (tests/db/test_forget.py,
tests/crawlers/test_forgetting.py)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from psycopg.types.json import Jsonb

from workers.embed_job import copy_rows

DIM = 1536


def vector_for(url: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.blake2b(url.encode(), digest_size=4).digest(), "big")
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def give_knowledge(conn, domain_id: Any, url: str, chunks: int = 3) -> None:
    """Embeddings, optimised content and a structured extraction for a stored page (and its
    `website_content` row if the crawl wrote none)."""
    page = conn.execute(
        "SELECT id, title, content FROM scraped_pages WHERE domain_id = %s AND url = %s",
        (domain_id, url),
    ).fetchone()
    content_id = conn.execute(
        "INSERT INTO website_content (domain_id, url, title, content, content_type) "
        "VALUES (%s, %s, %s, %s, 'page') ON CONFLICT (domain_id, url) DO UPDATE SET url = "
        "EXCLUDED.url "
        "RETURNING id",
        (domain_id, url, page["title"], page["content"]),
    ).fetchone()["id"]
    with conn.transaction():
        copy_rows(
            conn,
            (
                (
                    page["id"],
                    f"{page['title']} part {i}",
                    vector_for(f"{url}#{i}"),
                    {"model": "test", "chunk_index": i, "chunk_hash": f"{url}#{i}"},
                )
                for i in range(chunks)
            ),
        )
    conn.execute(
        "INSERT INTO ai_optimized_content (domain_id, source_content_id, url, content_type, "
        "optimized_content) VALUES (%s, %s, %s, 'page', 'optimised') "
        "ON CONFLICT (domain_id, url) DO NOTHING",
        (domain_id, content_id, url),
    )
    conn.execute(
        "INSERT INTO structured_extractions (domain_id, url, extract_type, extracted_data, "
        "schema_used) VALUES (%s, %s, 'faq', %s, %s)",
        (domain_id, url, Jsonb({"q": "a"}), Jsonb({"source": "json-ld"})),
    )


def text_chunks(conn, domain_id: Any, host: str, texts: dict[str, str]) -> dict[str, Any]:
    """One page a text (https://host/<key>, titled <key>) and its one chunk, English, model
    "m1", no vector: what the keyword side of hybrid search reads. key -> chunk id."""
    ids = {}
    for key, text in texts.items():
        page = conn.execute(
            "INSERT INTO scraped_pages (domain_id, url, title) VALUES (%s, %s, %s) RETURNING id",
            (domain_id, f"https://{host}/{key}", key),
        ).fetchone()["id"]
        ids[key] = conn.execute(
            "INSERT INTO page_embeddings (page_id, chunk_text, embedding, metadata) "
            "VALUES (%s, %s, NULL, %s) RETURNING id",
            (page, text, Jsonb({"model": "m1", "language": "en"})),
        ).fetchone()["id"]
    return ids


def knowledge(conn, domain_id: Any, url: str) -> dict[str, int]:
    """How many rows of each kind search can reach for the page."""
    return conn.execute(
        "SELECT (SELECT count(*) FROM page_embeddings e JOIN scraped_pages p ON p.id = e.page_id "
        "        WHERE p.domain_id = %(d)s AND p.url = %(u)s) AS embeddings, "
        "       (SELECT count(*) FROM website_content WHERE domain_id = %(d)s AND url = %(u)s) AS "
        "website_content, "
        "       (SELECT count(*) FROM ai_optimized_content WHERE domain_id = %(d)s AND url = "
        "%(u)s) AS optimized, "
        "       (SELECT count(*) FROM structured_extractions WHERE domain_id = %(d)s AND url = "
        "%(u)s) AS extractions",
        {"d": domain_id, "u": url},
    ).fetchone()


def searched_urls(conn, domain: str, url: str) -> list[str]:
    """The URLs the tenant search function returns for the page's own first chunk vector."""
    return [
        r["url"]
        for r in conn.execute(
            "SELECT url FROM search_embeddings(%s::vector, %s, 5)",
            ("[" + ",".join(map(str, vector_for(f"{url}#0").tolist())) + "]", domain),
        )
    ]

"""search_embeddings, hybrid_search, get_stale_content, the stats view and monitoring views."""

from __future__ import annotations

import numpy as np
import pytest
from psycopg.types.json import Jsonb

from db import vector_indexes

DIM = 1536


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240828)


def _domain(db, name: str) -> tuple:
    did = db.execute("INSERT INTO domains (domain) VALUES (%s) RETURNING id", (name,)).fetchone()[
        "id"
    ]
    return did


def _page(db, domain_id, url: str, **cols) -> object:
    names = ["domain_id", "url", *cols]
    return db.execute(
        f"INSERT INTO scraped_pages ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))}) "
        "RETURNING id",
        [domain_id, url, *cols.values()],
    ).fetchone()["id"]


def _chunks(db, page_id, rows: list[tuple[str, np.ndarray, dict]]) -> list:
    ids = []
    for text, vec, meta in rows:
        ids.append(
            db.execute(
                "INSERT INTO page_embeddings (page_id, chunk_text, embedding, metadata) "
                "VALUES (%s, %s, %s, %s) RETURNING id",
                (page_id, text, vec, Jsonb(meta)),
            ).fetchone()["id"]
        )
    return ids


@pytest.fixture
def corpus(db, rng):
    """Two domains of random chunks; a near neighbour of the query planted in shop.test, an exact
    copy of the query in other.test and an exact copy under another model in shop.test."""
    query = _unit(rng.standard_normal(DIM))
    shop, other = _domain(db, "shop.test"), _domain(db, "other.test")
    pages = [_page(db, shop, f"https://shop.test/p{i}", title=f"Page {i}") for i in range(5)]
    for i, page in enumerate(pages):
        _chunks(
            db,
            page,
            [
                (f"random chunk {i}-{k}", _unit(rng.standard_normal(DIM)), {"model": "m1"})
                for k in range(40)
            ],
        )
    near = _unit(query + (0.2 / np.sqrt(DIM)) * rng.standard_normal(DIM))
    planted = _chunks(db, pages[2], [("the planted neighbour", near, {"model": "m1"})])[0]
    other_model = _chunks(db, pages[3], [("same vector, other model", query, {"model": "m2"})])[0]
    other_page = _page(db, other, "https://other.test/x", title="Other")
    foreign = _chunks(db, other_page, [("identical but other domain", query, {"model": "m1"})])[0]
    db.execute("ANALYZE page_embeddings, scraped_pages, domains")
    return {"query": query, "planted": planted, "other_model": other_model, "foreign": foreign}


def test_search_ranks_planted_neighbour_first(db, corpus) -> None:
    rows = db.execute(
        "SELECT * FROM search_embeddings(%s, 'shop.test', 5, 'm1')", (corpus["query"],)
    ).fetchall()
    assert len(rows) == 5
    assert rows[0]["id"] == corpus["planted"]
    assert (
        rows[0]["chunk_text"] == "the planted neighbour"
        and rows[0]["url"] == "https://shop.test/p2"
    )
    assert rows[0]["title"] == "Page 2" and rows[0]["metadata"]["model"] == "m1"
    sims = [r["similarity"] for r in rows]
    assert sims == sorted(sims, reverse=True)
    assert sims[0] > 0.9 and sims[1] < 0.3  # cosine similarity, not distance


def test_search_respects_domain_filter(db, corpus) -> None:
    rows = db.execute(
        "SELECT id, url FROM search_embeddings(%s, 'shop.test', 50)", (corpus["query"],)
    ).fetchall()
    assert corpus["foreign"] not in {r["id"] for r in rows}
    assert all(r["url"].startswith("https://shop.test/") for r in rows)
    other = db.execute(
        "SELECT id FROM search_embeddings(%s, 'other.test', 10)", (corpus["query"],)
    ).fetchall()
    assert [r["id"] for r in other] == [corpus["foreign"]]
    assert (
        db.execute(
            "SELECT * FROM search_embeddings(%s, 'unknown.test', 10)", (corpus["query"],)
        ).fetchall()
        == []
    )


def test_search_respects_model_filter(db, corpus) -> None:
    m1 = db.execute(
        "SELECT id FROM search_embeddings(%s, 'shop.test', 300, 'm1')", (corpus["query"],)
    ).fetchall()
    assert corpus["other_model"] not in {r["id"] for r in m1} and len(m1) == 201
    m2 = db.execute(
        "SELECT id FROM search_embeddings(%s, 'shop.test', 10, 'm2')", (corpus["query"],)
    ).fetchall()
    assert [r["id"] for r in m2] == [corpus["other_model"]]
    anymodel = db.execute(
        "SELECT id, similarity FROM search_embeddings(%s, 'shop.test', 1)", (corpus["query"],)
    ).fetchall()
    assert anymodel[0]["id"] == corpus["other_model"] and anymodel[0]["similarity"] > 0.999


def test_hybrid_search_finds_keyword_match(db, corpus, rng) -> None:
    page = db.execute("SELECT id FROM scraped_pages WHERE url = 'https://shop.test/p4'").fetchone()[
        "id"
    ]
    keyword = _chunks(
        db,
        page,
        [
            (
                "Our refund policy: returns accepted within 30 days",
                _unit(rng.standard_normal(DIM)),
                {"model": "m1"},
            )
        ],
    )[0]
    rows = db.execute(
        "SELECT * FROM hybrid_search('what is the refund policy', %s, 'shop.test', 5, 'm1')",
        (corpus["query"],),
    ).fetchall()
    ids = [r["id"] for r in rows]
    assert keyword in ids and corpus["planted"] in ids
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True)
    hit = rows[ids.index(keyword)]
    assert hit["score"] >= 1 / 61 - 1e-12  # keyword rank 1 alone gives 1/(60 + 1)
    assert set(rows[0]) == {
        "id",
        "page_id",
        "url",
        "title",
        "chunk_text",
        "similarity",
        "metadata",
        "score",
    }
    # Keyword-only (no embedding): still finds it, and nothing from another domain.
    text_only = db.execute(
        "SELECT id FROM hybrid_search('refund policy', NULL, 'shop.test', 5)"
    ).fetchall()
    assert [r["id"] for r in text_only] == [keyword]
    assert (
        db.execute("SELECT * FROM hybrid_search('refund policy', NULL, 'other.test', 5)").fetchall()
        == []
    )


def test_hybrid_rrf_prefers_chunks_on_both_lists(db, corpus, rng) -> None:
    page = db.execute("SELECT id FROM scraped_pages WHERE url = 'https://shop.test/p1'").fetchone()[
        "id"
    ]
    both = _chunks(
        db,
        page,
        [
            (
                "shipping times to norway",
                _unit(corpus["query"] + 0.01 * rng.standard_normal(DIM)),
                {"model": "m1"},
            )
        ],
    )[0]
    _chunks(
        db,
        page,
        [("norway shipping norway shipping", _unit(rng.standard_normal(DIM)), {"model": "m1"})],
    )
    rows = db.execute(
        "SELECT id FROM hybrid_search('shipping norway', %s, 'shop.test', 3, 'm1')",
        (corpus["query"],),
    ).fetchall()
    assert rows[0]["id"] == both


def test_search_uses_hnsw_index_under_domain_filter(db, rng) -> None:
    """A few thousand rows, most in one domain: once the domain has its own HNSW index (migration
    0076: the function walks only a domain's own index) the function's plan uses it (checked by
    the index's scan counter inside one transaction) and still returns only that domain's rows;
    EXPLAIN of the same query shape shows the shared index under the domain filter."""
    big, small = _domain(db, "big.test"), _domain(db, "small.test")
    # 1,800 + 300 chunks: the planner takes the shared index under the domain filter with
    # 1,350 in big.test, a Sort over a seq scan with 900; this is a margin above both
    for domain_id, n_pages in ((big, 60), (small, 10)):
        for p in range(n_pages):
            page = _page(db, domain_id, f"https://x.test/{domain_id}/{p}")
            vecs = rng.standard_normal((30, DIM)).astype(np.float32)
            with db.cursor() as cur:
                cur.executemany(
                    "INSERT INTO page_embeddings (page_id, chunk_text, embedding, metadata) "
                    "VALUES (%s, 'c', %s, '{\"model\": \"m1\"}')",
                    [(page, v) for v in vecs],
                )
    db.execute("ANALYZE page_embeddings, scraped_pages, domains")
    assert vector_indexes.sync(db, 500)["created"] == [vector_indexes.index_name(big)]
    query = rng.standard_normal(DIM).astype(np.float32)
    scans = f"SELECT pg_stat_get_xact_numscans('{vector_indexes.index_name(big)}'::regclass) AS n"
    with db.transaction():
        before = db.execute(scans).fetchone()["n"]
        rows = db.execute(
            "SELECT url FROM search_embeddings(%s, 'big.test', 10, 'm1')", (query,)
        ).fetchall()
        after = db.execute(scans).fetchone()["n"]
    assert after > before
    assert len(rows) == 10 and all(r["url"].startswith(f"https://x.test/{big}/") for r in rows)
    with db.transaction(force_rollback=True):
        db.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        plan = "\n".join(
            r["QUERY PLAN"]
            for r in db.execute(
                "EXPLAIN SELECT e.id FROM page_embeddings e JOIN scraped_pages p ON p.id = "
                "e.page_id "
                "WHERE p.domain_id = %s AND e.metadata ->> 'model' = 'm1' "
                "ORDER BY e.embedding <=> %s LIMIT 10",
                (big, query),
            ).fetchall()
        )
    assert "idx_page_embeddings_vector" in plan


def test_get_stale_content(db) -> None:
    shop, other = _domain(db, "shop.test"), _domain(db, "other.test")
    db.execute(
        "INSERT INTO scraped_pages (domain_id, url, title, status, scraped_at) VALUES "
        "(%(s)s, 'https://shop.test/old', 'Old', 'completed', now() - interval '10 days'), "
        "(%(s)s, 'https://shop.test/fresh', 'Fresh', 'completed', now() - interval '1 day'), "
        "(%(s)s, 'https://shop.test/never', NULL, 'pending', NULL), "
        "(%(o)s, 'https://other.test/old', 'Other', 'completed', now() - interval '30 days')",
        {"s": shop, "o": other},
    )
    rows = db.execute("SELECT * FROM get_stale_content('shop.test', interval '7 days')").fetchall()
    assert [r["url"] for r in rows] == ["https://shop.test/never", "https://shop.test/old"]
    assert {"page_id", "url", "title", "scraped_at", "status"} <= set(rows[0])
    assert rows[1]["status"] == "completed" and rows[1]["title"] == "Old"
    assert (
        len(
            db.execute(
                "SELECT * FROM get_stale_content('shop.test', interval '12 hours')"
            ).fetchall()
        )
        == 3
    )


def test_domain_content_stats_refresh(db, omni_cli) -> None:
    shop = _domain(db, "shop.test")
    db.execute(
        "UPDATE domains SET last_scraped_at = now() - interval '2 days' WHERE id = %s", (shop,)
    )
    p1 = _page(db, shop, "https://shop.test/a", status="completed", scraped_at=None)
    _page(db, shop, "https://shop.test/b", status="failed")
    db.execute("UPDATE scraped_pages SET scraped_at = now() WHERE id = %s", (p1,))
    db.execute(
        "INSERT INTO website_content (domain_id, url) VALUES (%s, 'https://shop.test/a')", (shop,)
    )
    db.execute(
        "INSERT INTO structured_extractions (domain_id, url, extract_type, extracted_data) "
        "VALUES (%s, 'https://shop.test/a', 'faq', '{}')",
        (shop,),
    )
    _chunks(db, p1, [("c1", np.ones(DIM, dtype=np.float32), {}), ("c2", None, {})])
    db.execute(
        "INSERT INTO business_usage (domain_id, usage_type, tokens) VALUES "
        "(%s, 'embedding', 120), (%s, 'optimization', 30)",
        (shop, shop),
    )
    db.execute("SELECT refresh_domain_content_stats()")
    row = db.execute("SELECT * FROM domain_content_stats WHERE domain = 'shop.test'").fetchone()
    assert row["pages_total"] == 2
    assert row["pages_by_status"] == {"completed": 1, "failed": 1}
    assert (row["website_content_rows"], row["extractions"], row["embedding_chunks"]) == (1, 1, 2)
    assert row["tokens_used"] == 150
    assert (
        row["last_scraped_at"] > db.execute("SELECT now() - interval '1 hour' AS t").fetchone()["t"]
    )
    # The CLI command refreshes too (and picks up a new domain).
    _domain(db, "new.test")
    result = omni_cli("db", "refresh-stats")
    assert result.returncode == 0, result.stderr
    assert "refreshed domain_content_stats (2 domains)" in result.stdout
    assert db.execute("SELECT count(*) AS n FROM domain_content_stats").fetchone()["n"] == 2


def test_stats_view_has_unique_index_for_concurrent_refresh(db) -> None:
    row = db.execute(
        "SELECT indisunique FROM pg_index WHERE indexrelid = "
        "'public.idx_domain_content_stats_domain_id'::regclass"
    ).fetchone()
    assert row["indisunique"]
    db.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY domain_content_stats")


def test_index_usage_views(db) -> None:
    db.execute("SELECT * FROM scraped_pages WHERE url = 'x'")
    rows = db.execute(
        "SELECT * FROM index_usage_stats WHERE index_name = 'idx_page_embeddings_vector'"
    ).fetchall()
    assert len(rows) == 1 and rows[0]["index_type"] == "hnsw" and rows[0]["size_bytes"] > 0
    assert rows[0]["table_name"] == "page_embeddings" and rows[0]["scans"] >= 0
    unused = db.execute("SELECT index_name FROM unused_indexes").fetchall()
    names = {r["index_name"] for r in unused}
    assert not any(n.endswith("_pkey") or n.endswith("_key") for n in names)
    total = db.execute("SELECT count(*) AS n FROM index_usage_stats").fetchone()["n"]
    assert total >= 60

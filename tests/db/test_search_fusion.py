"""Migration 0112: navigation pages rank below content in every search function, and
hybrid_search's fusion weights and candidate depth; 0123: its convex fusion."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
from psycopg.types.json import Jsonb

from core.config import get_settings
from workers.search import search

DIM = 1536


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


@pytest.fixture
def site(db):
    """shop.test: a navigation page (an index) whose one chunk is the query's own vector and
    whose title and text hold every keyword, and a content page that answers a little less
    closely; an excluded page likewise; filler content pages around them."""
    rng = np.random.default_rng(25)
    query = _unit(rng.standard_normal(DIM))
    domain = db.execute(
        "INSERT INTO domains (domain) VALUES ('shop.test') RETURNING id"
    ).fetchone()["id"]

    def page(path: str, kind: str, title: str, text: str, vector: np.ndarray) -> object:
        url = f"https://shop.test{path}"
        pid = db.execute(
            "INSERT INTO scraped_pages (domain_id, url, title, metadata) VALUES (%s, %s, %s, %s) "
            "RETURNING id",
            (domain, url, title, Jsonb({"page_kind": kind})),
        ).fetchone()["id"]
        db.execute(
            "INSERT INTO website_content (domain_id, url, title, content) VALUES (%s, %s, %s, %s)",
            (domain, url, title, text),
        )
        return db.execute(
            "INSERT INTO page_embeddings (page_id, chunk_text, embedding, metadata) "
            "VALUES (%s, %s, %s, %s) RETURNING id",
            (pid, text, vector, Jsonb({"model": "m1", "language": "en"})),
        ).fetchone()["id"]

    near = _unit(query + (0.3 / np.sqrt(DIM)) * rng.standard_normal(DIM))
    ids = {
        "index": page(
            "/index",
            "navigation",
            "Refund policy, returns, shipping: all topics",
            "refund policy returns shipping refund policy",
            query,
        ),
        "excluded": page(
            "/old",
            "excluded",
            "Refund policy (old)",
            "refund policy returns old refund policy",
            query,
        ),
        "answer": page(
            "/refunds",
            "content",
            "Returns",
            "Our refund policy: you get your money back within 14 days.",
            near,
        ),
    }
    for i in range(20):
        page(
            f"/p{i}",
            "content",
            f"Page {i}",
            f"unrelated text about lanterns {i}",
            _unit(rng.standard_normal(DIM)),
        )
    db.execute("ANALYZE page_embeddings, scraped_pages, website_content")
    return {"domain_id": domain, "query": query, "ids": ids}


def test_vector_search_ranks_navigation_below_content(db, site) -> None:
    rows = db.execute(
        "SELECT id FROM search_embeddings(%s, 'shop.test', 3, 'm1')", (site["query"],)
    ).fetchall()
    assert rows[0]["id"] == site["ids"]["answer"]
    assert {r["id"] for r in rows[1:]} == {site["ids"]["index"], site["ids"]["excluded"]}


def test_the_chat_apps_vector_search_ranks_navigation_below_content(db, site) -> None:
    rows = db.execute(
        "SELECT id, similarity FROM search_embeddings(p_domain_id => %s, query_embedding => %s, "
        "match_threshold => 0.5, match_count => 3)",
        (site["domain_id"], site["query"]),
    ).fetchall()
    assert rows[0]["id"] == site["ids"]["answer"]
    assert {r["id"] for r in rows[1:]} == {site["ids"]["index"], site["ids"]["excluded"]}


def test_hybrid_search_ranks_navigation_below_content(db, site) -> None:
    rows = db.execute(
        "SELECT id FROM hybrid_search('refund policy', %s, 'shop.test', 3, 'm1')", (site["query"],)
    ).fetchall()
    # the filler pages are content candidates too: navigation comes only after all of them
    assert rows[0]["id"] == site["ids"]["answer"]
    assert not {r["id"] for r in rows} & {site["ids"]["index"], site["ids"]["excluded"]}
    everything = db.execute(
        "SELECT id FROM hybrid_search('refund policy', %s, 'shop.test', 30, 'm1')", (site["query"],)
    ).fetchall()
    assert {r["id"] for r in everything[-2:]} == {site["ids"]["index"], site["ids"]["excluded"]}


def test_keyword_search_lists_content_pages_first(db, site) -> None:
    rows = db.execute(
        "SELECT url FROM search_pages_by_keyword(%s, 'refund', 10)", (site["domain_id"],)
    ).fetchall()
    assert [r["url"] for r in rows] == [
        "https://shop.test/refunds",
        "https://shop.test/index",
        "https://shop.test/old",
    ]


def test_a_page_without_a_kind_counts_as_content(db, site) -> None:
    db.execute("UPDATE scraped_pages SET metadata = '{}' WHERE url = 'https://shop.test/index'")
    rows = db.execute(
        "SELECT url FROM search_pages_by_keyword(%s, 'refund', 10)", (site["domain_id"],)
    ).fetchall()
    # both content now; the title match decides, as before 0112
    assert [r["url"] for r in rows][:2] == ["https://shop.test/index", "https://shop.test/refunds"]


@pytest.mark.parametrize("fusion", ["rrf", "convex"])
@pytest.mark.parametrize(
    "weights,first",
    [
        ({"vector_weight": 1.0, "keyword_weight": 0.0}, "near"),  # the vector side alone
        ({"vector_weight": 0.0, "keyword_weight": 1.0}, "words"),  # the keyword side alone
        ({"vector_weight": 3.0, "keyword_weight": 1.0}, "near"),
        ({"vector_weight": 1.0, "keyword_weight": 3.0}, "words"),
    ],
)
def test_hybrid_fusion_weights(db, weights, first, fusion) -> None:
    """Two content chunks: one the nearest vector without the words, one holding the words and
    the farthest vector (outside the vector side's two candidates); the heavier side decides
    which comes first."""
    rng = np.random.default_rng(3)
    query = _unit(rng.standard_normal(DIM))
    domain = db.execute(
        "INSERT INTO domains (domain) VALUES ('fuse.test') RETURNING id"
    ).fetchone()["id"]
    pid = db.execute(
        "INSERT INTO scraped_pages (domain_id, url) VALUES (%s, 'https://fuse.test/') RETURNING id",
        (domain,),
    ).fetchone()["id"]
    chunks = {
        "near": ("lanterns and stoves", query),
        "words": ("warranty claims for kettles", -query),
    }
    meta = Jsonb({"model": "m1", "language": "en"})
    ids = {
        name: db.execute(
            "INSERT INTO page_embeddings (page_id, chunk_text, embedding, "
            "metadata) VALUES (%s, %s, %s, %s) RETURNING id",
            (pid, text, vec, meta),
        ).fetchone()["id"]
        for name, (text, vec) in chunks.items()
    }
    for i in range(10):
        db.execute(
            "INSERT INTO page_embeddings (page_id, chunk_text, embedding, metadata) "
            "VALUES (%s, %s, %s, %s)",
            (
                pid,
                f"filler {i}",
                _unit(rng.standard_normal(DIM)),
                Jsonb({"model": "m1", "language": "en"}),
            ),
        )
    rows = db.execute(
        "SELECT id FROM hybrid_search('kettle warranty', %(v)s, 'fuse.test', 2, 'm1', "
        "vector_weight => %(vw)s, keyword_weight => %(kw)s, candidates => 2, fusion => %(f)s)",
        {
            "v": query,
            "vw": weights["vector_weight"],
            "kw": weights["keyword_weight"],
            "f": fusion,
        },
    ).fetchall()
    assert rows[0]["id"] == ids[first]


def test_hybrid_candidates_never_fewer_than_asked(db, site) -> None:
    """A candidate depth below match_count still fills the answer: each side brings at least
    match_count chunks."""
    rows = db.execute(
        "SELECT id FROM hybrid_search('lanterns', %s, 'shop.test', 10, 'm1', candidates => 1)",
        (site["query"],),
    ).fetchall()
    assert len(rows) == 10


def _at_cosine(query: np.ndarray, cosine: float, rng: np.random.Generator) -> np.ndarray:
    """A unit vector whose cosine similarity to the unit `query` is `cosine`."""
    other = rng.standard_normal(DIM)
    other -= other.dot(query) * query
    other /= np.linalg.norm(other)
    return _unit(cosine * query + np.sqrt(1 - cosine**2) * other)


@pytest.fixture
def near_tie(db):
    """convex.test: 'best', the nearest chunk, without the question's words; 'runner_up', a
    near-tie of it that holds them; 'far', the strongest keyword match with a distant vector;
    unrelated filler around them."""
    rng = np.random.default_rng(123)
    query = _unit(rng.standard_normal(DIM))
    domain = db.execute(
        "INSERT INTO domains (domain) VALUES ('convex.test') RETURNING id"
    ).fetchone()["id"]
    pid = db.execute(
        "INSERT INTO scraped_pages (domain_id, url) VALUES (%s, 'https://convex.test/') "
        "RETURNING id",
        (domain,),
    ).fetchone()["id"]
    meta = Jsonb({"model": "m1", "language": "en"})
    chunks = {
        "best": ("opening hours of the shop", 0.95),
        "runner_up": ("our warranty covers every kettle for two years", 0.94),
        "far": ("kettle warranty: kettle warranty claims, kettle warranty form", 0.30),
        **{f"filler{i}": (f"lanterns and stoves {i}", 0.0) for i in range(8)},
    }
    ids = {
        name: db.execute(
            "INSERT INTO page_embeddings (page_id, chunk_text, embedding, metadata) "
            "VALUES (%s, %s, %s, %s) RETURNING id",
            (pid, text, _at_cosine(query, cosine, rng), meta),
        ).fetchone()["id"]
        for name, (text, cosine) in chunks.items()
    }
    return {"query": query, "ids": ids}


def _order(db, query, ids, **fusion) -> list[str]:
    names = {v: k for k, v in ids.items()}
    rows = db.execute(
        "SELECT id FROM hybrid_search('kettle warranty', %(v)s, 'convex.test', 3, 'm1', "
        "vector_weight => %(vw)s, keyword_weight => %(kw)s, fusion => 'convex')",
        {"v": query, **fusion},
    ).fetchall()
    return [names[r["id"]] for r in rows]


@pytest.mark.parametrize(
    "vw,kw,order",
    [
        (1.0, 0.0, ["best", "runner_up", "far"]),  # the vector side's order
        (9.0, 1.0, ["runner_up", "best", "far"]),  # the words break the near-tie only
        (1.0, 1.0, ["runner_up", "far", "best"]),  # equal weights: the words outvote
        (0.0, 1.0, ["far", "runner_up"]),  # the keyword side alone: only its matches
    ],
)
def test_convex_fusion_moves_a_chunk_as_far_as_its_scores_allow(
    db, near_tie, vw, kw, order
) -> None:
    assert _order(db, near_tie["query"], near_tie["ids"], vw=vw, kw=kw) == order


def test_convex_fusion_without_a_vector_is_the_keyword_ranking(db, near_tie) -> None:
    rows = db.execute(
        "SELECT id, similarity FROM hybrid_search('kettle warranty', NULL, 'convex.test', 5, "
        "'m1', vector_weight => 9, keyword_weight => 1, fusion => 'convex')"
    ).fetchall()
    assert [r["id"] for r in rows[:2]] == [near_tie["ids"]["far"], near_tie["ids"]["runner_up"]]
    assert len(rows) == 2 and all(r["similarity"] is None for r in rows)


def test_an_unknown_fusion_is_refused(db, near_tie) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="fusion must be"):
        db.execute(
            "SELECT id FROM hybrid_search('kettle', NULL, 'convex.test', 5, fusion => 'mean')"
        ).fetchall()


@pytest.mark.parametrize(
    "fusion,vw,kw,first", [("convex", 9.0, 1.0, "runner_up"), ("rrf", 9.0, 1.0, "best")]
)
def test_search_passes_the_settings_fusion(db, near_tie, fusion, vw, kw, first) -> None:
    settings = get_settings().model_copy(
        update={"hybrid_fusion": fusion, "hybrid_vector_weight": vw, "hybrid_keyword_weight": kw}
    )
    rows = search(
        db, "kettle warranty", "convex.test", 3, True, settings=settings, vector=near_tie["query"]
    )
    names = {v: k for k, v in near_tie["ids"].items()}
    found = [
        names[
            db.execute(
                "SELECT id FROM page_embeddings WHERE chunk_text = %s", (r["chunk"],)
            ).fetchone()["id"]
        ]
        for r in rows
    ]
    assert found[0] == first


@pytest.fixture
def supported(db):
    """support.test: 'one', a page with one chunk at cosine 0.82; 'two', a page with two chunks
    at 0.80 and 0.79; 'index', a navigation page at 0.99; distant filler pages."""
    rng = np.random.default_rng(7)
    query = _unit(rng.standard_normal(DIM))
    domain = db.execute(
        "INSERT INTO domains (domain) VALUES ('support.test') RETURNING id"
    ).fetchone()["id"]
    pages = {
        "one": ("content", [0.82]),
        "two": ("content", [0.80, 0.79]),
        "index": ("navigation", [0.99]),
        **{f"filler{i}": ("content", [0.1]) for i in range(6)},
    }
    for name, (kind, cosines) in pages.items():
        pid = db.execute(
            "INSERT INTO scraped_pages (domain_id, url, metadata) VALUES (%s, %s, %s) RETURNING id",
            (domain, f"https://support.test/{name}", Jsonb({"page_kind": kind})),
        ).fetchone()["id"]
        for n, cosine in enumerate(cosines):
            db.execute(
                "INSERT INTO page_embeddings (page_id, chunk_text, embedding, metadata) "
                "VALUES (%s, %s, %s, %s)",
                (pid, f"{name} {n}", _at_cosine(query, cosine, rng), Jsonb({"model": "m1"})),
            )
    return query


@pytest.mark.parametrize(
    ("weight", "k", "pages"),
    [
        # 0.80 + 0.1 x 0.79 and 0.79 + 0.1 x 0.80 both pass 0.82; navigation is cut
        (0.1, 3, ["two", "two", "one"]),
        (0.1, 10, ["two", "two", "one", *["filler"] * 6, "index"]),  # ... and last of all
        (0.0, 3, ["one", "two", "index"]),  # search_embeddings' order: navigation last of k
    ],
)
def test_vector_search_ranks_by_page_support(db, supported, weight, k, pages) -> None:
    settings = get_settings().model_copy(update={"search_second_chunk_weight": weight})
    rows = search(db, "anything", "support.test", k, settings=settings, vector=supported)
    assert [r["url"].rsplit("/", 1)[1].rstrip("012345") for r in rows] == pages
    assert all(("score" in r) == (weight > 0) for r in rows)

"""Search with many tenants in one table (migrations 0030-0032, 0076, 0077): the derived
page_embeddings.domain_id, the plan choice by the domain's own index (and without one, by its
size: 0077's paths, their recall in tests/db/test_vector_indexes.py), the exact fallback of a
short HNSW walk, tenant isolation on the HNSW path, and the search functions' signatures."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import numpy as np
import psycopg
import pytest
from psycopg.types.json import Jsonb

from core.config import get_settings
from db import vector_indexes
from db.vector_indexes import PREFIX, index_name, plan_indexes
from tests.support.environment import (
    database_copy,
    database_on,
    patched_environ,
    template_database,
)
from tests.support.tenants import as_role, as_tenant
from workers.embed_job import copy_rows
from workers.search import sync_domain_index

DIM = 1536
# search_embedding_ids walks HNSW only for a domain with its own index; the tests build one for
# a few hundred rows (min_rows 250) to exercise that path.
MIN_ROWS = 250
SCANS = "SELECT pg_stat_get_xact_numscans('idx_page_embeddings_vector'::regclass) AS n"


def own_scans(domain_id: Any) -> str:
    return f"SELECT pg_stat_get_xact_numscans('{index_name(domain_id)}'::regclass) AS n"


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def _domain(db, name: str, user: Any = None) -> Any:
    return db.execute(
        "INSERT INTO domains (domain, user_id) VALUES (%s, %s) RETURNING id", (name, user)
    ).fetchone()["id"]


def _page(db, domain_id: Any, url: str) -> Any:
    return db.execute(
        "INSERT INTO scraped_pages (domain_id, url) VALUES (%s, %s) RETURNING id", (domain_id, url)
    ).fetchone()["id"]


def _fill(db, domain_id: Any, vectors: np.ndarray, pages: int = 20) -> list[int]:
    """Chunks with these vectors over `pages` pages of the domain (binary COPY, the writer's
    path); metadata n = the vector's row number."""
    page_ids = [_page(db, domain_id, f"https://{domain_id}/p{i}") for i in range(pages)]
    with db.transaction():
        copy_rows(
            db,
            (
                (page_ids[i % pages], f"chunk {i}", v, {"model": "m1", "n": i})
                for i, v in enumerate(vectors)
            ),
        )
    return page_ids


def _exact(vectors: np.ndarray, query: np.ndarray, k: int = 10) -> list[int]:
    return [int(i) for i in np.argsort(-(vectors @ query), kind="stable")[:k]]


SEED = 1111


@pytest.fixture
def rng(request) -> np.random.Generator:
    """The tests' generator; after the big_and_small world, as its building left it."""
    if "big_and_small" in request.fixturenames:
        return copy.deepcopy(request.getfixturevalue("big_and_small_template")[2]["rng"])
    return np.random.default_rng(SEED)


@pytest.fixture
def db(request) -> Iterator[psycopg.Connection]:
    """The test database; for a test of the big_and_small world, its own copy of that world."""
    if "big_and_small" in request.fixturenames:
        admin_url, template, _ = request.getfixturevalue("big_and_small_template")
        with database_copy(admin_url, template) as conn:
            yield conn
    else:
        yield request.getfixturevalue("postgres_db")


@pytest.fixture
def two_pages(db) -> dict[str, Any]:
    users = [
        db.execute(
            "INSERT INTO auth.users (email) VALUES (%s) RETURNING id", (f"{n}@auth.test",)
        ).fetchone()["id"]
        for n in ("alice", "bob")
    ]
    a, b = _domain(db, "a.test", users[0]), _domain(db, "b.test", users[1])
    a2 = _domain(db, "a2.test", users[0])
    return {
        "users": users,
        "a": a,
        "b": b,
        "a2": a2,
        "pa": _page(db, a, "https://a.test/"),
        "pb": _page(db, b, "https://b.test/"),
    }


def _domain_of(db, chunk: Any) -> Any:
    return db.execute("SELECT domain_id FROM page_embeddings WHERE id = %s", (chunk,)).fetchone()[
        "domain_id"
    ]


@pytest.mark.parametrize("claimed", [None, "a", "b"])
def test_domain_id_is_derived_from_the_page_whatever_the_writer_claims(
    db, two_pages, claimed
) -> None:
    chunk = db.execute(
        "INSERT INTO page_embeddings (page_id, chunk_text, domain_id) VALUES (%s, 'c', %s) "
        "RETURNING id",
        (two_pages["pa"], two_pages.get(claimed)),
    ).fetchone()["id"]
    assert _domain_of(db, chunk) == two_pages["a"]


def test_tenant_cannot_point_its_chunk_at_another_tenants_domain(db, two_pages) -> None:
    alice = two_pages["users"][0]
    with as_tenant(db, alice) as conn:
        chunk = conn.execute(
            "INSERT INTO page_embeddings (page_id, chunk_text, domain_id) VALUES (%s, 'c', %s) "
            "RETURNING id",
            (two_pages["pa"], two_pages["b"]),
        ).fetchone()["id"]
        conn.execute(
            "UPDATE page_embeddings SET domain_id = %s WHERE id = %s", (two_pages["b"], chunk)
        )
        assert _domain_of(conn, chunk) == two_pages["a"]
        # what service-role search of b.test would see: nothing of alice's
        conn.execute("RESET ROLE")
        assert (
            conn.execute(
                "SELECT count(*) AS n FROM page_embeddings WHERE domain_id = %s", (two_pages["b"],)
            ).fetchone()["n"]
            == 0
        )


@pytest.mark.parametrize("change", ["chunk moves to a page of b", "page moves to domain a2"])
def test_domain_id_follows_page_and_domain_changes(db, two_pages, change) -> None:
    chunk = db.execute(
        "INSERT INTO page_embeddings (page_id, chunk_text) VALUES (%s, 'c') RETURNING id",
        (two_pages["pa"],),
    ).fetchone()["id"]
    if change == "chunk moves to a page of b":
        db.execute(
            "UPDATE page_embeddings SET page_id = %s WHERE id = %s", (two_pages["pb"], chunk)
        )
        assert _domain_of(db, chunk) == two_pages["b"]
    else:
        db.execute(
            "UPDATE scraped_pages SET domain_id = %s WHERE id = %s",
            (two_pages["a2"], two_pages["pa"]),
        )
        assert _domain_of(db, chunk) == two_pages["a2"]


def _big_and_small(db) -> dict[str, Any]:
    rng = np.random.default_rng(SEED)
    users = [
        db.execute(
            "INSERT INTO auth.users (email) VALUES (%s) RETURNING id", (f"{n}@auth.test",)
        ).fetchone()["id"]
        for n in ("owner", "other")
    ]
    near = _unit(rng.standard_normal(DIM))
    data = {
        "big": _unit(rng.standard_normal((300, DIM))),
        "small": _unit(rng.standard_normal((60, DIM))),
        "crowd": _unit(near + 0.02 * rng.standard_normal((150, DIM))),
    }
    ids = {name: _domain(db, f"{name}.test", users[0]) for name in data}
    for name, vectors in data.items():
        _fill(db, ids[name], vectors)
    db.execute("ANALYZE page_embeddings, scraped_pages, domains")
    return {"data": data, "ids": ids, "near": near, "users": users, "rng": rng}


@pytest.fixture(scope="module")
def big_and_small_template(services_env) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """The big_and_small world built once per module, for each of its tests to copy (building
    it cost ~2 s of each one's set-up)."""
    admin_url = database_on(services_env["DATABASE_URL"], "postgres")
    with template_database(admin_url, _big_and_small) as (template, world):
        yield admin_url, template, world


@pytest.fixture
def big_and_small(db, big_and_small_template) -> dict[str, Any]:
    """big.test: 300 random chunks; small.test: 60; crowd.test: 150 chunks tightly around
    `near`, a point far from big.test's chunks. No domain has its own index yet. (`db` is this
    test's copy of it.)"""
    world = big_and_small_template[2]
    return copy.deepcopy({k: v for k, v in world.items() if k != "rng"})


def _search(conn, query: np.ndarray, domain: str, k: int = 10) -> list[int]:
    return [
        r["metadata"]["n"]
        for r in conn.execute(
            "SELECT metadata FROM search_embeddings(%s, %s, %s, 'm1')", (query, domain, k)
        )
    ]


@pytest.fixture
def indexed(db, big_and_small) -> dict[str, Any]:
    """big_and_small once big.test has its own index (300 chunks >= MIN_ROWS)."""
    assert vector_indexes.sync(db, MIN_ROWS)["created"] == [index_name(big_and_small["ids"]["big"])]
    return big_and_small


@pytest.mark.parametrize("domain,own_index", [("big", True), ("big", False), ("small", False)])
def test_plan_follows_the_domains_own_index(
    db, big_and_small, rng, domain: str, own_index: bool
) -> None:
    """The walk of the domain's own HNSW index when it has one. Without one (0077): exact search
    for a domain of at most 200 chunks (small.test), binary-quantised candidates re-ranked
    exactly for big.test (300 chunks, and 5 % of the table's 510 is too few to walk the shared
    graph: the shared index is not walked here)."""
    if own_index:
        vector_indexes.sync(db, MIN_ROWS)
    vectors = big_and_small["data"][domain]
    query = _unit(vectors[7] + 0.01 * rng.standard_normal(DIM))
    big = big_and_small["ids"]["big"]
    with db.transaction():
        before = db.execute(SCANS).fetchone()["n"]
        own_before = db.execute(own_scans(big)).fetchone()["n"] if own_index else 0
        found = _search(db, query, f"{domain}.test")
        assert db.execute(SCANS).fetchone()["n"] == before
        if own_index:
            assert db.execute(own_scans(big)).fetchone()["n"] > own_before
    assert found[0] == 7 and len(found) == 10
    if domain == "small":
        assert found == _exact(vectors, query)


def test_short_hnsw_walk_falls_back_to_exact(db, indexed, rng) -> None:
    """big.test holds 5 chunks of model 'rare' among its 300; the query sits in crowd.test's
    cluster. With the walk of big.test's own index bounded to 1 tuple
    (omni.search_max_scan_tuples) it comes back short of the 10 asked for; the function notices
    the short answer and searches exactly: all 5, best first."""
    rare = _unit(rng.standard_normal((5, DIM)))
    page = db.execute(
        "SELECT id FROM scraped_pages WHERE domain_id = %s LIMIT 1", (indexed["ids"]["big"],)
    ).fetchone()["id"]
    with db.transaction():
        copy_rows(
            db, ((page, f"rare {i}", v, {"model": "rare", "n": i}) for i, v in enumerate(rare))
        )
    near = indexed["near"]
    with db.transaction(force_rollback=True):  # the walk alone, as the function pins it
        for setting in (
            "hnsw.iterative_scan = relaxed_order",
            "hnsw.max_scan_tuples = 1",
            "enable_seqscan = off",
            "enable_bitmapscan = off",
            "enable_sort = off",
        ):
            db.execute(f"SET LOCAL {setting}")
        walked = db.execute(
            "SELECT count(*) AS n FROM (SELECT id FROM page_embeddings WHERE domain_id = %s "
            "AND metadata->>'model' = 'rare' ORDER BY l2_normalize(embedding)::vector(1536) <#> "
            "l2_normalize(%s) "
            "LIMIT 10) s",
            (indexed["ids"]["big"], near),
        ).fetchone()["n"]
    assert walked < 10
    with db.transaction():
        db.execute("SET LOCAL omni.search_max_scan_tuples = 1")
        before = db.execute(own_scans(indexed["ids"]["big"])).fetchone()["n"]
        found = [
            r["metadata"]["n"]
            for r in db.execute(
                "SELECT metadata FROM search_embeddings(%s, 'big.test', 10, 'rare')", (near,)
            )
        ]
        assert db.execute(own_scans(indexed["ids"]["big"])).fetchone()["n"] > before
    assert found == _exact(rare, near, 5)
    # the caller's planner settings are untouched by the function's pinned plans
    assert db.execute("SHOW enable_sort").fetchone()["enable_sort"] == "on"


@pytest.mark.parametrize("function", ["search_embeddings", "hybrid_search"])
def test_tenants_see_only_their_rows_on_the_hnsw_path(db, indexed, function: str) -> None:
    owner, other = indexed["users"]
    query = indexed["data"]["big"][3]
    call = {
        "search_embeddings": "SELECT id FROM search_embeddings(%s, 'big.test', 10, 'm1')",
        "hybrid_search": "SELECT id FROM hybrid_search('chunk', %s, 'big.test', 10, 'm1')",
    }[function]
    with as_tenant(db, other) as conn:
        assert conn.execute(call, (query,)).fetchall() == []
    with as_tenant(db, owner) as conn:
        mine = [r["id"] for r in conn.execute(call, (query,))]
    with as_role(db, "service_role") as conn:
        assert [r["id"] for r in conn.execute(call, (query,))] == mine
    assert len(mine) == 10


def test_hybrid_keyword_side_reads_the_stored_tsvector(db, big_and_small) -> None:
    page = db.execute(
        "SELECT id FROM scraped_pages WHERE domain_id = %s LIMIT 1",
        (big_and_small["ids"]["small"],),
    ).fetchone()["id"]
    chunk = db.execute(
        "INSERT INTO page_embeddings (page_id, chunk_text, metadata) VALUES "
        "(%s, 'Parcel delivery to Norway takes three days', %s) RETURNING id",
        (page, Jsonb({"model": "m1"})),
    ).fetchone()["id"]
    assert (
        db.execute("SELECT chunk_tsv::text AS t FROM page_embeddings WHERE id = %s", (chunk,))
        .fetchone()["t"]
        .startswith("'days':7")
    )
    rows = db.execute(
        "SELECT id FROM hybrid_search('norway parcel', NULL, 'small.test', 3)"
    ).fetchall()
    assert [r["id"] for r in rows] == [chunk]
    with db.transaction(force_rollback=True):
        db.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            r["QUERY PLAN"]
            for r in db.execute(
                "EXPLAIN SELECT id FROM page_embeddings WHERE chunk_tsv @@ 'norway'::tsquery"
            )
        )
    assert "idx_page_embeddings_chunk_tsv" in plan


A, B = UUID(int=1), UUID(int=2)


@pytest.mark.parametrize(
    "rows,existing,create,drop",
    [
        ({A: 1000, B: 999}, {}, [A], []),  # at the threshold
        ({A: 600}, {index_name(A): True}, [], []),  # kept above half of it
        ({A: 499}, {index_name(A): True}, [], [index_name(A)]),  # shrunk: dropped
        ({}, {index_name(A): True}, [], [index_name(A)]),  # domain gone
        ({A: 5000}, {index_name(A): False}, [A], []),  # invalid: _build redoes it
        ({A: 10}, {index_name(A): False}, [], [index_name(A)]),  # invalid and not needed
        (
            {A: 5000, B: 2000},
            {index_name(B): True, "idx_page_embeddings_vector": True, PREFIX + "not-a-uuid": True},
            [A],
            [],
        ),  # other indexes ignored
    ],
)
def test_plan_indexes(rows, existing, create, drop) -> None:
    plan = plan_indexes(rows, existing, 1000)
    assert (plan.create, plan.drop) == (create, drop)


def test_domain_index_is_built_used_and_dropped(db, big_and_small, omni_cli) -> None:
    """`omni db vector-indexes` builds big.test's own index (300 chunks >= 250); the search then
    walks it instead of the shared one; once the domain shrinks below half, sync drops it."""
    big = big_and_small["ids"]["big"]
    result = omni_cli("db", "vector-indexes", "--min-rows", "250")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"created {index_name(big)}", "1 domain vector indexes"]
    own = f"SELECT pg_stat_get_xact_numscans('{index_name(big)}'::regclass) AS n"
    query = big_and_small["data"]["big"][5]
    with db.transaction():
        before = db.execute(own).fetchone()["n"], db.execute(SCANS).fetchone()["n"]
        found = _search(db, query, "big.test")
        assert db.execute(own).fetchone()["n"] > before[0]
        assert db.execute(SCANS).fetchone()["n"] == before[1]
    assert found[0] == 5 and len(found) == 10
    # an interrupted build leaves an invalid index: the next sync builds it again
    db.execute(
        "UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass", (index_name(big),)
    )
    assert vector_indexes.sync(db, 250) == {"created": [index_name(big)], "dropped": []}
    assert vector_indexes.existing_indexes(db) == {index_name(big): True}
    db.execute(
        "DELETE FROM page_embeddings WHERE domain_id = %s AND (metadata->>'n')::int >= 100", (big,)
    )
    assert vector_indexes.sync(db, 250) == {"created": [], "dropped": [index_name(big)]}
    assert vector_indexes.existing_indexes(db) == {}
    with pytest.raises(ValueError, match="autocommit"):
        db.autocommit = False
        try:
            vector_indexes.sync(db, 250)
        finally:
            db.rollback()
            db.autocommit = True


def test_embed_hook_builds_the_domain_index(db, big_and_small) -> None:

    big, small = big_and_small["ids"]["big"], big_and_small["ids"]["small"]
    with patched_environ({"OMNI_SEARCH_DOMAIN_INDEX_ROWS": "250"}):
        assert sync_domain_index(small, get_settings()) == {}
        assert sync_domain_index(big, get_settings()) == {"vector_index_created": [index_name(big)]}
        assert sync_domain_index(big, get_settings()) == {}
    assert set(vector_indexes.existing_indexes(db)) == {index_name(big)}


@pytest.mark.parametrize("count", [None, 0, -1])
def test_search_ids_without_a_count_return_nothing(db, two_pages, count) -> None:
    db.execute(
        "INSERT INTO page_embeddings (page_id, chunk_text, embedding) VALUES (%s, 'c', %s)",
        (two_pages["pa"], np.ones(DIM, dtype=np.float32)),
    )
    row = db.execute(
        "SELECT search_embedding_ids(%s, %s, %s, NULL) AS ids",
        (np.ones(DIM, dtype=np.float32), two_pages["a"], count),
    ).fetchone()
    assert row["ids"] == []


# What the chat app, hybrid_search and the tests call: 0077 changed a body, no signature.
SIGNATURES = {
    "has_own_vector_index(uuid)": ("boolean", "search_path=pg_catalog, pg_temp"),
    "hybrid_search(text,vector,text,integer,text,integer,double precision,double precision,"
    "integer,text)": (
        "TABLE(id uuid, page_id uuid, url text, title text, chunk_text text, similarity double "
        "precision, metadata jsonb, score double precision)",
        "search_path=public, extensions, pg_temp",
    ),
    "search_embedding_ids(vector,uuid,integer,text)": (
        "uuid[]",
        "search_path=public, extensions, pg_temp",
    ),
    "search_embeddings(uuid,vector,double precision,integer)": (
        "TABLE(id uuid, page_id uuid, url text, title text, chunk_text text, similarity double "
        "precision, metadata jsonb)",
        "search_path=public, extensions, pg_temp",
    ),
    "search_embeddings(vector,text,integer,text)": (
        "TABLE(id uuid, page_id uuid, url text, title text, chunk_text text, similarity double "
        "precision, metadata jsonb)",
        "search_path=public, extensions, pg_temp",
    ),
}


def test_search_function_signatures_are_unchanged(db) -> None:
    found = {
        r["sig"]: (r["result"], r["config"][0])
        for r in db.execute(
            "SELECT p.oid::regprocedure::text AS sig, pg_get_function_result(p.oid) AS result, "
            "p.proconfig AS config FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace "
            "AND p.proname IN ('search_embedding_ids', 'search_embeddings', 'hybrid_search', "
            "'has_own_vector_index')"
        )
    }
    assert found == SIGNATURES

"""Search keeps its recall whoever writes page_embeddings (migrations 0076, 0077,
db/vector_indexes.py): chunks bulk-copied into a few tenants, searched through search_embeddings
and compared with the exact top 10 computed in numpy, before the domains have their own indexes
(each of 0077's paths: exact, the shared graph, binary-quantised candidates), after `sync`
builds them, and after more rows arrive by COPY again."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import numpy as np
import psycopg
import pytest

from db import vector_indexes
from db.vector_indexes import index_name, judge_indexes
from tests.support.environment import database_copy, database_on, template_database
from tests.support.tenants import as_role, as_tenant
from workers.embed_job import copy_rows

DIM, LATENT = 1536, 48
MIN_ROWS = 500
# A chunk's text as wide as a real one (the local model's 200 tokens, ~1,000 characters), in
# the heap row: with 10-character texts the rows were so narrow that, when a domain's rows lay
# in domain_id order, the planner read them by the plain domain_id btree (CI, 2026-12-03).
CHUNK_TEXT = "x" * 1000
SIZES = {
    "t0.test": 900,
    "t1.test": 600,
    "t2.test": 300,
    "t3.test": 200,
    "t4.test": 120,
    "t5.test": 80,
}


class Tenants:
    """Clustered vectors (topics in a 48-d latent space projected to 1536-d, as real embeddings
    have a low intrinsic dimension), one generator per tenant so more rows can be drawn."""

    def __init__(self) -> None:
        rng = np.random.default_rng(76)
        self.projection = (rng.standard_normal((LATENT, DIM)) / np.sqrt(LATENT)).astype(np.float32)
        self.centres = {
            name: rng.standard_normal((max(3, n // 100), LATENT)) for name, n in SIZES.items()
        }
        self.vectors: dict[str, np.ndarray] = {
            name: np.zeros((0, DIM), np.float32) for name in SIZES
        }
        self.rng = rng

    def draw(self, name: str, n: int) -> np.ndarray:
        centres = self.centres[name]
        latent = centres[self.rng.integers(0, len(centres), n)] + 0.6 * self.rng.standard_normal(
            (n, LATENT)
        )
        v = latent.astype(np.float32) @ self.projection + 0.1 * self.rng.standard_normal((n, DIM))
        v = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
        self.vectors[name] = np.vstack([self.vectors[name], v])
        return v

    def queries(self, name: str, n: int = 8) -> np.ndarray:
        rng = np.random.default_rng([76, len(self.vectors[name])])
        centres = self.centres[name]
        latent = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.standard_normal((n, LATENT))
        v = latent.astype(np.float32) @ self.projection
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def _copy(db, domain_id: Any, page_id: Any, vectors: np.ndarray, start: int) -> None:
    """Straight into page_embeddings by binary COPY, as a restore or another app would."""
    with db.transaction():
        copy_rows(
            db,
            (
                (page_id, f"chunk {start + i} {CHUNK_TEXT}", v, {"model": "m1", "n": start + i})
                for i, v in enumerate(vectors)
            ),
        )


def _load(conn: psycopg.Connection) -> dict[str, Any]:
    """The tenants' chunks, one tenant after another. The domains' ids ascend in that order, so
    domain_id's correlation with the rows' places is 1: the case where a plain index scan costs
    least against the binary path's index-only one (random ids made that choice vary by run)."""
    tenants = Tenants()
    ids, pages = {}, {}
    for k, (name, n) in enumerate(SIZES.items(), start=1):
        ids[name] = conn.execute(
            "INSERT INTO domains (id, domain) VALUES (%s, %s) RETURNING id", (UUID(int=k), name)
        ).fetchone()["id"]
        pages[name] = conn.execute(
            "INSERT INTO scraped_pages (domain_id, url) VALUES (%s, %s) RETURNING id",
            (ids[name], f"https://{name}/"),
        ).fetchone()["id"]
        _copy(conn, ids[name], pages[name], tenants.draw(name, n), 0)
    conn.execute("ANALYZE page_embeddings")
    return {"tenants": tenants, "ids": ids, "pages": pages}


@pytest.fixture(scope="module")
def loaded_template(services_env) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """The tenants' chunks bulk-copied once per module, into the template each test's database
    is copied from (the COPY through the HNSW index took ~5 s of every test's set-up)."""
    admin_url = database_on(services_env["DATABASE_URL"], "postgres")
    with template_database(admin_url, _load) as (template, world):
        yield admin_url, template, world


@pytest.fixture
def db(loaded_template) -> Iterator[psycopg.Connection]:
    """A copy of the loaded database, this test's own."""
    admin_url, template, _ = loaded_template
    with database_copy(admin_url, template) as conn:
        yield conn


@pytest.fixture
def loaded(db, loaded_template) -> dict[str, Any]:
    """The loaded world: the same ids; the tenants' generators as they were (a test may draw)."""
    return copy.deepcopy(loaded_template[2])


def _recall(db, tenants: Tenants, name: str, queries: np.ndarray | None = None) -> float:
    """Mean recall@10 of search_embeddings against numpy's exact top 10 of the tenant."""
    hits = []
    for query in tenants.queries(name) if queries is None else queries:
        truth = set(np.argsort(-(tenants.vectors[name] @ query))[:10].tolist())
        found = {
            r["metadata"]["n"]
            for r in db.execute(
                "SELECT metadata FROM search_embeddings(%s, %s, 10, 'm1')", (query, name)
            )
        }
        hits.append(len(found & truth) / 10)
    return float(np.mean(hits))


def test_recall_after_bulk_copies_whoever_builds_the_indexes(db, loaded) -> None:
    tenants, ids = loaded["tenants"], loaded["ids"]
    # 1. just copied: no domain has its own index. 0077: the three of more than 200 chunks
    #    (omni.search_bq_candidates) by binary candidates re-ranked exactly, the rest exactly
    assert vector_indexes.existing_indexes(db) == {}
    recalls = {name: _recall(db, tenants, name) for name in SIZES}
    assert min(recalls.values()) >= 0.95, recalls
    assert [recalls[n] for n in ("t3.test", "t4.test", "t5.test")] == [1.0, 1.0, 1.0], recalls
    found = vector_indexes.health(db, MIN_ROWS)
    assert found.missing == {ids["t0.test"]: 900, ids["t1.test"]: 600}
    # 2. the maintenance step builds the two large domains' own indexes from the data
    result = vector_indexes.sync(db, MIN_ROWS)
    assert sorted(result["created"]) == sorted(index_name(ids[n]) for n in ("t0.test", "t1.test"))
    assert vector_indexes.health(db, MIN_ROWS).ok
    recalls = {name: _recall(db, tenants, name) for name in SIZES}
    assert min(recalls.values()) >= 0.95, recalls
    # 3. more rows by COPY: into an indexed domain (its partial index takes them), and into a
    #    small one, which crosses the threshold with no index yet (binary path until the next
    #    sync)
    _copy(db, ids["t0.test"], loaded["pages"]["t0.test"], tenants.draw("t0.test", 300), 900)
    _copy(db, ids["t2.test"], loaded["pages"]["t2.test"], tenants.draw("t2.test", 400), 300)
    assert vector_indexes.health(db, MIN_ROWS).missing == {ids["t2.test"]: 700}
    recalls = {name: _recall(db, tenants, name) for name in SIZES}
    assert min(recalls.values()) >= 0.95, recalls
    assert vector_indexes.sync(db, MIN_ROWS)["created"] == [index_name(ids["t2.test"])]
    recalls = {name: _recall(db, tenants, name) for name in SIZES}
    assert min(recalls.values()) >= 0.95, recalls


def test_an_index_of_the_old_definition_is_rebuilt(db, loaded) -> None:
    """An own index as built before migration 0076 (embedding vector_cosine_ops): search does
    not walk it, health calls it invalid, sync rebuilds it."""
    domain = loaded["ids"]["t0.test"]
    db.execute(
        f'CREATE INDEX "{index_name(domain)}" ON page_embeddings USING hnsw '
        f"(embedding vector_cosine_ops) WHERE domain_id = '{domain}'::uuid"
    )
    assert vector_indexes.existing_indexes(db) == {index_name(domain): False}
    assert db.execute("SELECT has_own_vector_index(%s) AS h", (domain,)).fetchone()["h"] is False
    assert vector_indexes.health(db, MIN_ROWS).invalid == [domain]
    assert index_name(domain) in vector_indexes.sync(db, MIN_ROWS)["created"]
    assert db.execute("SELECT has_own_vector_index(%s) AS h", (domain,)).fetchone()["h"] is True
    assert _recall(db, loaded["tenants"], "t0.test") >= 0.95


AUTO_EXPLAIN = (
    "auto_explain.log_min_duration",
    "auto_explain.log_nested_statements",
    "client_min_messages",
)


@contextmanager
def explained(db) -> Iterator[list[str]]:
    """The plans of the statements run inside, the functions' own included (auto_explain)."""
    plans: list[str] = []

    def keep(diagnostic: Any) -> None:
        plans.append(diagnostic.message_primary or "")

    db.execute("LOAD 'auto_explain'")
    for name, value in zip(AUTO_EXPLAIN, ("0", "on", "log"), strict=True):
        db.execute(f"SET {name} = {value}")
    db.add_notice_handler(keep)
    try:
        yield plans
    finally:
        db.remove_notice_handler(keep)
        for name in AUTO_EXPLAIN:
            db.execute(f"RESET {name}")


def _path(plans: list[str]) -> str:
    """Which of search_embedding_ids' paths the plans show."""
    text = "\n".join(p for p in plans if "page_embeddings" in p)
    if "Index Scan using idx_page_embeddings_vector_d_" in text:
        return "own index"
    if "Index Scan using idx_page_embeddings_vector on" in text:
        return "shared graph"
    if "<~>" in text:
        return "binary"
    return "exact"


def _depth(conn, depth: int | None) -> None:
    """The binary path's re-rank depth for this transaction (0077's default 200 if None)."""
    if depth is not None:
        conn.execute("SELECT set_config('omni.search_bq_candidates', %s, true)", (str(depth),))


# 2,200 chunks: 5 % is 110. Re-rank depth 200 (the default): t0-t2 (> 200) binary, t3-t5
# exact; depth 40: t0-t4 (>= 110 chunks) walk the shared graph, t5 (80) binary.
def _vacuumed(db: psycopg.Connection, tries: int = 10) -> str:
    """VACUUM ANALYZE page_embeddings as autovacuum does after a COPY, until the visibility map
    covers the table (an index-only scan needs it): "<all-visible pages>/<pages>". The test
    server commits asynchronously (tests/conftest.py) and VACUUM marks only rows whose commit
    is flushed, hence the CHECKPOINT; on a loaded machine (the whole suite on 2 cores) one pass
    has left pages unmarked, so it is repeated a few times."""
    for _ in range(tries):
        db.execute("CHECKPOINT")
        db.execute("VACUUM ANALYZE page_embeddings")
        row = db.execute(
            "SELECT relallvisible, relpages FROM pg_class WHERE oid = 'page_embeddings'::regclass"
        ).fetchone()
        assert row is not None
        visible, pages = row["relallvisible"], row["relpages"]
        if visible >= pages:
            break
        time.sleep(0.5)
    return f"all-visible pages: {visible}/{pages}"


@pytest.mark.parametrize(
    "name,depth,path",
    [
        ("t1.test", None, "binary"),
        ("t0.test", None, "binary"),
        ("t3.test", None, "exact"),
        ("t0.test", 40, "shared graph"),
        ("t2.test", 40, "shared graph"),
        ("t5.test", 40, "binary"),
        ("t0.test", None, "own index"),
    ],
)
def test_each_path_keeps_recall(db, loaded, name: str, depth: int | None, path: str) -> None:
    """Each path of search_embedding_ids (0077) against numpy's exact top 10: recall@10 >= 0.95
    (1.0 for the exact one); the binary path reads its candidates index-only from
    idx_page_embeddings_domain_bq (once the visibility map is set)."""
    tenants = loaded["tenants"]
    if path == "own index":
        vector_indexes.sync(db, MIN_ROWS)
    all_visible = _vacuumed(db)
    queries = tenants.queries(name, 12)
    with db.transaction():
        _depth(db, depth)
        with explained(db) as plans:
            db.execute(
                "SELECT count(*) FROM search_embeddings(%s, %s, 10, 'm1')", (queries[0], name)
            )
        recall = _recall(db, tenants, name, queries)
    assert _path(plans) == path, plans
    if path == "binary":
        assert any("Index Only Scan using idx_page_embeddings_domain_bq" in p for p in plans), [
            all_visible,
            *(p for p in plans if "<~>" in p),
        ]
    assert recall == 1.0 if path == "exact" else recall >= 0.95, recall


@pytest.mark.parametrize(
    "name,depth,path", [("t0.test", 40, "shared graph"), ("t1.test", None, "binary")]
)
def test_tenants_see_only_their_rows_before_the_own_index(
    db, loaded, name: str, depth: int | None, path: str
) -> None:
    """On 0077's paths a tenant gets nothing of another tenant's domain; the owner gets what
    service_role gets, by the same path."""
    owner, other = (
        db.execute(
            "INSERT INTO auth.users (email) VALUES (%s) RETURNING id", (f"{n}@auth.test",)
        ).fetchone()["id"]
        for n in ("owner", "other")
    )
    db.execute("UPDATE domains SET user_id = %s", (owner,))
    query = loaded["tenants"].queries(name, 1)[0]
    call = "SELECT id FROM search_embeddings(%s, %s, 10, 'm1')"
    with as_tenant(db, other) as conn:
        _depth(conn, depth)
        assert conn.execute(call, (query, name)).fetchall() == []
    with explained(db) as plans, as_tenant(db, owner) as conn:
        _depth(conn, depth)
        mine = [r["id"] for r in conn.execute(call, (query, name))]
    assert _path(plans) == path, plans
    with as_role(db, "service_role") as conn:
        _depth(conn, depth)
        assert [r["id"] for r in conn.execute(call, (query, name))] == mine
    assert len(mine) == 10


A, B, C = UUID(int=1), UUID(int=2), UUID(int=3)


@pytest.mark.parametrize(
    "rows,existing,missing,invalid,unneeded,indexed",
    [
        ({}, {}, {}, [], [], 0),
        ({A: 1000, B: 10}, {index_name(A): True}, {}, [], [], 1),
        ({A: 1000, B: 700}, {index_name(A): True}, {B: 700}, [], [], 1),  # bulk-loaded B
        ({A: 1000}, {index_name(A): False}, {}, [A], [], 0),  # interrupted build
        ({A: 100}, {index_name(A): True}, {}, [], [index_name(A)], 0),  # shrunk
        ({}, {index_name(C): True, "idx_page_embeddings_vector": True}, {}, [], [index_name(C)], 0),
    ],
)
def test_judge_indexes(rows, existing, missing, invalid, unneeded, indexed) -> None:
    health = judge_indexes(rows, existing, MIN_ROWS)
    assert (health.missing, health.invalid, health.unneeded, health.indexed) == (
        missing,
        invalid,
        unneeded,
        indexed,
    )
    assert health.ok is not (missing or invalid or unneeded)

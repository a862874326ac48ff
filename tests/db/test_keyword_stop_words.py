"""Migration 0125: hybrid search's stop words are each domain's own (db/keyword_stats.py).

Before it, the words in more than 10 % of page_embeddings' chunks (pg_stats: every tenant's chunks
together) were left out of every tenant's questions, and a caller under RLS had none at all. On
both the plain and the Supabase-shaped database: a large tenant's chunks no longer decide which
of a small tenant's words count, a domain's own common words still drop out, and a tenant's JWT
gets the rows the service role gets.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from db import keyword_stats
from db.connection import connect
from tests.support.knowledge import text_chunks
from tests.support.supabase_fixtures import database_param_dsn
from tests.support.tenants import as_tenant, truncate_all
from workers.search import recount_keyword_stats

BIG = 200  # shop.test: every chunk says "price", a few say "zephyr"
SMALL = {  # docs.test: "price" in 2 of its 20 chunks (10 %: not above it)
    "price_warranty": "price warranty terms",
    "price_list": "price list",
    "warranty": "warranty claims",
    **{f"filler{i}": f"lantern{i} candle{i}" for i in range(17)},
}


@pytest.fixture(params=["postgres", "supabase"])
def conn(request, services_env) -> Iterator[psycopg.Connection]:
    dsn = database_param_dsn(request)
    with connect(autocommit=True, dsn=dsn) as c:
        truncate_all(c)
        yield c
        truncate_all(c)


def _user(db: psycopg.Connection, name: str) -> UUID:
    return db.execute(
        "INSERT INTO auth.users (id, email) VALUES (gen_random_uuid(), %s) RETURNING id",
        (f"{name}-{uuid4().hex[:8]}@auth.test",),
    ).fetchone()["id"]


def _domain(db: psycopg.Connection, name: str, texts: dict[str, str], user: UUID) -> dict[str, Any]:
    domain = db.execute(
        "INSERT INTO domains (domain, user_id) VALUES (%s, %s) RETURNING id", (name, user)
    ).fetchone()["id"]
    return {"id": domain, "chunks": text_chunks(db, domain, name, texts), "user": user}


def _big_texts() -> dict[str, str]:
    return {f"item{i}": f"price item{i}" + (" zephyr" if i < 3 else "") for i in range(BIG)}


def _scored(db: psycopg.Connection, question: str, domain: str) -> list[tuple[UUID, float]]:
    return [
        (r["id"], round(r["score"], 12))
        for r in db.execute(
            "SELECT id, score FROM hybrid_search(%s, NULL, %s, 10, 'm1')", (question, domain)
        ).fetchall()
    ]


def _ranking(db: psycopg.Connection, question: str, domain: str) -> list[UUID]:
    return [chunk for chunk, _ in _scored(db, question, domain)]


def _settle(db: psycopg.Connection) -> None:
    """What the table's statistics and the workers would have done by now."""
    db.execute("ANALYZE page_embeddings")
    keyword_stats.sync(db)


def test_another_tenants_chunks_do_not_change_a_small_tenants_words(conn) -> None:
    small = _domain(conn, "docs.test", SMALL, _user(conn, "small"))
    _settle(conn)
    alone = _ranking(conn, "price warranty", "docs.test")
    chunks = small["chunks"]
    assert alone[0] == chunks["price_warranty"]
    assert set(alone[1:3]) == {chunks["price_list"], chunks["warranty"]}
    big = _domain(conn, "shop.test", _big_texts(), _user(conn, "big"))
    _settle(conn)
    # "price" is in 202 of the table's 220 chunks: under pg_stats it was dropped from docs.test's
    # question, and "price list" was no candidate at all
    assert _ranking(conn, "price warranty", "docs.test") == alone
    assert keyword_stats.counted(conn) == {small["id"]: len(SMALL), big["id"]: BIG}


def test_a_domains_own_common_words_still_drop_out(conn) -> None:
    big = _domain(conn, "shop.test", _big_texts(), _user(conn, "big"))
    _domain(conn, "docs.test", SMALL, _user(conn, "small"))
    _settle(conn)
    words = conn.execute(
        "SELECT common_words FROM domain_keyword_stats WHERE domain_id = %s", (big["id"],)
    ).fetchone()["common_words"]
    assert words == ["price"]
    # only the three "zephyr" chunks match: "price" counts only when the question has nothing else
    ranked = _ranking(conn, "price zephyr", "shop.test")
    assert sorted(ranked) == sorted(big["chunks"][f"item{i}"] for i in range(3))
    assert len(_ranking(conn, "price", "shop.test")) == 10


def test_a_tenant_gets_the_rows_the_service_role_gets(conn) -> None:
    big = _domain(conn, "shop.test", _big_texts(), _user(conn, "big"))
    _settle(conn)
    as_service = _ranking(conn, "price zephyr", "shop.test")
    with as_tenant(conn, big["user"]) as tenant:
        # pg_stats hides an RLS table's statistics from the tenant: it used to get every
        # "price" chunk as a candidate too
        assert _ranking(tenant, "price zephyr", "shop.test") == as_service
        assert tenant.execute("SELECT count(*) AS n FROM domain_keyword_stats").fetchone()["n"] == 1


def _both_paths(db: psycopg.Connection, question: str, domain: str) -> list[list]:
    """The keyword side read by scanning the domain's rows (at most omni.keyword_scan_chunks,
    3,000 by default) and by the word index (the setting at 0)."""
    out = []
    for scan_chunks in ("", "0"):
        with db.transaction():
            db.execute("SELECT set_config('omni.keyword_scan_chunks', %s, true)", (scan_chunks,))
            out.append(_scored(db, question, domain))
    return out


@pytest.mark.parametrize("question", ["price zephyr", "price", "warranty claims", "lantern3"])
def test_the_domain_scan_and_the_word_index_find_the_same_rows(conn, question) -> None:
    _domain(conn, "shop.test", _big_texts(), _user(conn, "big"))
    small = _domain(conn, "docs.test", SMALL, _user(conn, "small"))
    _settle(conn)
    as_service = {}
    for name in ("shop.test", "docs.test"):
        scanned, indexed = _both_paths(conn, question, name)
        assert scanned == indexed
        as_service[name] = scanned
    assert any(as_service.values())
    with as_tenant(conn, small["user"]) as tenant:
        assert _both_paths(tenant, question, "docs.test") == [as_service["docs.test"]] * 2
        assert _both_paths(tenant, question, "shop.test") == [[], []]  # not its domain


def test_tenants_read_only_their_own_counts_and_cannot_recount(conn) -> None:
    big = _domain(conn, "shop.test", _big_texts(), _user(conn, "big"))
    small = _domain(conn, "docs.test", SMALL, _user(conn, "small"))
    _settle(conn)
    with as_tenant(conn, small["user"]) as tenant:
        rows = tenant.execute("SELECT domain_id FROM domain_keyword_stats").fetchall()
        assert [r["domain_id"] for r in rows] == [small["id"]]
    for statement, args in (
        ("SELECT refresh_domain_keyword_stats(%s)", (big["id"],)),
        ("UPDATE domain_keyword_stats SET common_words = '{}'", ()),
        ("INSERT INTO domain_keyword_stats (domain_id, chunks) VALUES (%s, 1)", (small["id"],)),
    ):
        with (
            pytest.raises(psycopg.errors.InsufficientPrivilege),
            as_tenant(conn, small["user"]) as tenant,
        ):
            tenant.execute(statement, args)


def test_a_recount_follows_the_chunks(conn) -> None:
    big = _domain(conn, "shop.test", _big_texts(), _user(conn, "big"))
    assert keyword_stats.sync(conn) == [big["id"]]
    assert keyword_stats.sync(conn) == []  # nothing changed in number
    conn.execute(
        "DELETE FROM page_embeddings WHERE id = ANY(%s)",
        ([big["chunks"][f"item{i}"] for i in range(3, BIG)],),
    )
    assert keyword_stats.sync(conn) == [big["id"]]
    # three chunks left, each word in at least one of them: every word is common
    row = conn.execute("SELECT chunks, common_words FROM domain_keyword_stats").fetchone()
    assert row["chunks"] == 3
    assert row["common_words"] == ["item0", "item1", "item2", "price", "zephyr"]
    conn.execute("DELETE FROM page_embeddings")
    assert keyword_stats.sync(conn) == [big["id"]]
    assert keyword_stats.counted(conn) == {}


STALE_CASES = [
    # (counted, current, stale)
    ({}, {}, []),
    ({}, {"a": 3}, ["a"]),
    ({"a": 3}, {"a": 3}, []),
    ({"a": 3}, {"a": 4}, ["a"]),
    ({"a": 3}, {}, ["a"]),
    ({"a": 3, "b": 5}, {"a": 3, "b": 6, "c": 1}, ["b", "c"]),
]


@pytest.mark.parametrize("counted, current, want", STALE_CASES)
def test_stale(counted, current, want) -> None:
    ids = {k: UUID(int=i + 1) for i, k in enumerate("abc")}
    got = keyword_stats.stale(
        {ids[k]: n for k, n in counted.items()}, {ids[k]: n for k, n in current.items()}
    )
    assert got == [ids[k] for k in want]


def test_a_failed_recount_after_an_embed_job_is_recorded_not_raised(db) -> None:
    """The job's chunks are committed by then: the failure goes into its metadata, and the
    scheduler's pass recounts the domain later (test_index_schedule)."""
    big = _domain(db, "shop.test", _big_texts(), _user(db, "big"))
    with connect() as job_conn:
        job_conn.close()
        result = recount_keyword_stats(job_conn, big["id"])
    assert list(result) == ["keyword_stats_error"] and "closed" in result["keyword_stats_error"]
    assert keyword_stats.counted(db) == {}
    with connect() as job_conn:
        assert recount_keyword_stats(job_conn, big["id"]) == {}
    assert keyword_stats.counted(db) == {big["id"]: BIG}

"""db/embed_sizing.py: the pure sizing rules (tables) and the measured rate, read only from the
project's own completed runs (real Postgres)."""

from __future__ import annotations

import uuid

import pytest
from psycopg.types.json import Jsonb

from db import embed_sizing
from db.embed_sizing import split_by_tokens, take_within, token_budget
from tests.support.worker_fixtures import add_page, make_domain

COSTS = {"a": 4, "b": 4, "c": 4, "big": 50, "small": 1}


@pytest.mark.parametrize(
    ("ids", "budget", "max_pages", "runs"),
    [
        ([], 10, 5, []),
        (["a", "b", "c"], 10, 5, [["a", "b"], ["c"]]),
        (["a", "b", "c"], 12, 5, [["a", "b", "c"]]),
        (["a", "b", "c"], 100, 2, [["a", "b"], ["c"]]),
        (["a", "big", "b"], 10, 5, [["a"], ["big"], ["b"]]),  # too big for any run: its own
        (["a", "a", "b", "a"], 10, 5, [["a", "b"]]),  # each page once
        (["x", "y", "a"], 4, 5, [["x", "y", "a"]]),  # unknown pages cost nothing
    ],
)
def test_split_by_tokens(ids, budget, max_pages, runs) -> None:
    assert split_by_tokens(ids, COSTS, budget, max_pages) == runs


@pytest.mark.parametrize(
    ("groups", "room_pages", "room_tokens", "taken"),
    [
        ([], 10, 10, []),
        ([(1, ["a"]), (2, ["b"]), (3, ["c"])], 10, 8, [1, 2]),
        ([(1, ["big"]), (2, ["a"]), (3, ["small"])], 10, 5, [2, 3]),  # a misfit is left, not a stop
        ([(1, ["a", "b"]), (2, ["c"])], 2, 100, [1]),  # pages count together, not per job
        ([(1, ["a"]), (2, ["b"])], 0, 100, []),
    ],
)
def test_take_within(groups, room_pages, room_tokens, taken) -> None:
    assert take_within(groups, room_pages, room_tokens, COSTS) == taken


@pytest.mark.parametrize(
    ("rate", "limit", "share", "budget"),
    [(1_000.0, 1800, 0.25, 450_000), (20_000.0, 1800, 0.25, 9_000_000), (0.001, 1, 0.25, 1)],
)
def test_token_budget(rate, limit, share, budget) -> None:
    assert token_budget(rate, limit, share) == budget


def test_the_prior_of_the_local_model_is_slower_than_an_apis() -> None:
    assert embed_sizing.prior_rate("local") < embed_sizing.prior_rate("openai")


def _run(db, domain_id, tokens, seconds, model="m1", origin="pipeline", status="completed"):
    row = db.execute(
        "INSERT INTO content_refresh_jobs (domain_id, job_type, status, metadata) "
        "VALUES (%s, 'embed', %s, %s) RETURNING id",
        (
            domain_id,
            status,
            Jsonb({"embedding_model": model, "tokens": tokens, "duration_seconds": seconds}),
        ),
    ).fetchone()
    if origin != "pipeline":
        db.execute("UPDATE content_refresh_jobs SET origin = %s WHERE id = %s", (origin, row["id"]))
    return row["id"]


def test_the_measured_rate_is_the_models_recent_pipeline_runs_only(db) -> None:
    domain = make_domain(db)["id"]
    assert embed_sizing.measured_rate(db, "m1") is None
    _run(db, domain, 1_000, 10)
    _run(db, domain, 3_000, 10)
    _run(db, domain, 10**9, 1, model="m2")  # another model
    _run(db, domain, 10**9, 1, origin="tenant")  # a tenant's row never sizes a run
    _run(db, domain, 10**9, 1, status="failed")
    _run(db, domain, 0, 10)  # a run that embedded nothing says nothing about the rate
    _run(db, domain, "lots", "quick")  # not numbers: ignored, and no cast error
    assert embed_sizing.measured_rate(db, "m1") == pytest.approx(200.0)
    assert embed_sizing.measured_rate(db, "m2") == pytest.approx(10**9)


def test_the_measured_rate_reads_the_latest_runs(db) -> None:
    domain = make_domain(db)["id"]
    _run(db, domain, 100, 10)  # old and slow
    db.execute("UPDATE content_refresh_jobs SET created_at = now() - interval '1 day'")
    for _ in range(embed_sizing.RECENT_RUNS):
        _run(db, domain, 5_000, 10)
    assert embed_sizing.measured_rate(db, "m1") == pytest.approx(500.0)


def test_page_tokens_counts_only_the_domains_own_pages(db) -> None:
    own, other = make_domain(db)["id"], make_domain(db, "other.example")["id"]
    page = add_page(db, own, "https://shop.example/a", "Title", "x" * 3_200)
    foreign = add_page(db, other, "https://other.example/b", "T", "y" * 9_999)
    tokens = embed_sizing.page_tokens(
        db, own, [str(page), str(foreign), "not-a-uuid", str(uuid.uuid4())]
    )
    assert tokens == {str(page): embed_sizing.estimated_tokens(3_200 + len("Title"))}

"""The commands end to end: refresh -> worker --until-idle -> search / jobs (local model)."""

from __future__ import annotations

import json
import subprocess

import pytest
from typer.testing import CliRunner

from core.config import get_settings
from db import jobs
from interfaces.cli.main import app
from tests.support.worker_fixtures import REPO, VENV_BIN, add_page, make_domain, settings_env
from workers.embed_job import run_embed
from workers.refresh import queue_refresh
from workers.search import search

PAGES = {
    "returns": (
        "Returns policy",
        "You can send back any product within 30 days of delivery. "
        "Pack the item in its original box, print the prepaid return label and drop the "
        "parcel at a post office. We refund the purchase price to your card.",
    ),
    "shipping": (
        "Shipping and delivery",
        "Orders are dispatched the same working day. Standard "
        "delivery takes two to four days; express courier delivery arrives the next "
        "morning. You receive a tracking link by email when the parcel leaves.",
    ),
    "sizes": (
        "Size guide",
        "Our trousers and shirts follow European sizing. Measure your waist "
        "and chest and compare them with the chart: if you are between two sizes, choose "
        "the larger one for a relaxed fit.",
    ),
    "payment": (
        "Payment methods",
        "We accept Visa, Mastercard and American Express credit "
        "cards, PayPal and bank transfer. Your card is charged when the order ships.",
    ),
    "contact": (
        "Contact us",
        "Our customer service team answers the telephone on weekdays from "
        "9am to 5pm at +44 20 7946 0000, or write to help@shop.example.",
    ),
    "care": (
        "Garment care",
        "Wash wool jumpers by hand in cold water and dry them flat. Cotton "
        "shirts can go in the washing machine at 40 degrees and be ironed while damp.",
    ),
}
QUERIES = [
    ("how do I send an item back and get my money refunded", "returns"),
    ("when will my parcel arrive", "shipping"),
    ("which size should I buy if I am between sizes", "sizes"),
    ("do you take credit cards or paypal", "payment"),
    ("what is your phone number", "contact"),
    ("how should I wash a wool sweater", "care"),
]


def omni(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(VENV_BIN / "omni"), *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"omni {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


def run_in_this_process(*args: str) -> str:
    """`omni ARGS` run by the CLI's own app in this process (its output)."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.stdout


@pytest.fixture
def site(db, redis_client):
    domain = make_domain(db)
    for slug, (title, text) in PAGES.items():
        add_page(db, domain["id"], f"https://shop.example/{slug}", title, text)
    return domain


@pytest.mark.slow
def test_refresh_worker_until_idle_search_and_jobs(db, site):
    out = omni("refresh", "shop.example", "--type", "embed").stdout
    assert out.count("queued embed job") == 1
    worker = omni(
        "worker", "-p", "1", "-t", "2", "-Q", "embed", "--until-idle", "--idle-check", "0.5"
    )
    assert worker.returncode == 0
    done = db.execute("SELECT * FROM content_refresh_jobs").fetchall()
    assert [j["status"] for j in done] == ["completed"], done
    meta = done[0]["metadata"]
    assert meta["embedding_model"] == "all-MiniLM-L6-v2" and meta["chunks_embedded"] >= len(PAGES)
    assert meta["cost"] == 0 and meta["tokens"] > 0

    # One query through the CLI's process (each `omni search` loads the model: seconds), the rest
    # through the function behind it, which gives the CLI's --json output.

    first_query, first_slug = QUERIES[0]
    via_cli = json.loads(
        omni("search", first_query, "--domain", "shop.example", "--json", "-k", "3").stdout
    )
    in_process = search(db, first_query, "shop.example", 3, False, settings=get_settings())
    assert [(r["url"], r["chunk"]) for r in via_cli] == [(r["url"], r["chunk"]) for r in in_process]
    for query, slug in QUERIES:
        results = search(db, query, "shop.example", 3, False, settings=get_settings())
        assert results[0]["url"] == f"https://shop.example/{slug}", (query, results)
        assert {"url", "title", "similarity", "chunk"} <= set(results[0])
        assert results[0]["similarity"] >= results[-1]["similarity"]
    # the other two modes through the same command in this process: the model is loaded here
    hybrid = json.loads(
        run_in_this_process(
            "search", "paypal credit cards", "--domain", "shop.example", "--hybrid", "--json"
        )
    )
    assert hybrid[0]["url"] == "https://shop.example/payment" and "score" in hybrid[0]
    text = run_in_this_process("search", "wash wool", "--domain", "shop.example")
    assert "https://shop.example/care" in text.splitlines()[0] and "similarity=" in text

    # an unchanged site re-embeds for 0 tokens
    omni("refresh", "shop.example", "--type", "embed")
    omni("worker", "-p", "1", "-t", "1", "-Q", "embed", "--until-idle", "--idle-check", "0.5")
    second = db.execute(
        "SELECT metadata FROM content_refresh_jobs ORDER BY created_at DESC LIMIT 1"
    ).fetchone()["metadata"]
    assert second["tokens"] == 0 and second["chunks_embedded"] == 0

    listing = omni("jobs", "--status", "completed", "--domain", "shop.example").stdout
    assert listing.count("completed") >= 2 and "embed" in listing
    as_json = json.loads(omni("jobs", "--json").stdout)
    assert len(as_json) == 2 and {j["status"] for j in as_json} == {"completed"}
    refused = omni("jobs", "retry", str(done[0]["id"]), check=False)
    assert refused.returncode == 1 and "not failed" in refused.stderr


def test_cli_errors_are_one_line(db, site):
    for args, message in [
        (("refresh", "nowhere.example"), "unknown domain"),
        (("refresh", "shop.example", "--type", "bogus"), "unknown refresh type"),
        (("jobs", "--status", "weird"), "unknown status"),
        (("jobs", "retry", "not-an-id"), "not a job id"),
        (("search", "x", "--domain", "nowhere.example"), "unknown domain"),
        (("worker", "-Q", "nope"), "unknown queue"),
    ]:
        result = omni(*args, check=False)
        assert result.returncode != 0 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_refresh_queues_batched_page_jobs_and_crawls(db, site, redis_client):

    ids = queue_refresh(db, "https://www.shop.example/", "extract", force=True, pages_per_job=4)
    rows = [jobs.get(db, i) for i in ids]
    assert [len(r["metadata"]["page_ids"]) for r in rows] == [4, 2]
    assert all(r["metadata"]["force"] is True and r["job_type"] == "extract" for r in rows)
    assert redis_client.llen("dramatiq:extract") == 2
    crawl = queue_refresh(db, "shop.example", "full")
    assert jobs.get(db, crawl[0])["job_type"] == "full" and redis_client.llen("dramatiq:crawl") == 1


def test_search_uses_the_domain_model_not_the_configured_one(db, openai_env):

    domain = make_domain(db)
    for slug, (title, text) in PAGES.items():
        add_page(db, domain["id"], f"https://shop.example/{slug}", title, text)
    job = jobs.get(db, jobs.create(db, domain["id"], "embed", {}))
    run_embed(db, job, get_settings())
    openai_env.clear()
    # configured for the local model now, but this domain's rows are text-embedding-3-small
    with settings_env(OMNI_EMBEDDING_BACKEND="local", OMNI_EMBEDDING_MODEL="all-MiniLM-L6-v2"):
        results = search(
            db, "PayPal credit cards accepted", "shop.example", k=3, settings=get_settings()
        )
    assert results[0]["url"] == "https://shop.example/payment"
    assert {r["model"] for r in results} == {"text-embedding-3-small"}
    assert [r.body["input"] for r in openai_env.embedding_requests()] == [
        ["PayPal credit cards accepted"]
    ]

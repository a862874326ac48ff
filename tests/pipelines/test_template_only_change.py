"""A template-only change costs nothing: a 120-product shop re-crawled with a new rotating
"Customers also viewed" block inside <main> and a new footer year rewrites no website_content
row, queues no job and sends no request to the OpenAI optimiser (the local OpenAI-compatible
server counts them)."""
# ruff: noqa: E501 - its page fixtures are written as a site serves them; a line break
# inside one would change the page under test

from __future__ import annotations

import json
import random

import pytest

from core.config import get_settings
from tests.support import testsite
from tests.support.crawl_fixtures import crawl
from tests.support.openai_server import OpenAIServer
from tests.support.worker_fixtures import settings_env
from tests.workers.test_optimize_job import chat_answer
from workers.optimize_job import run_optimize

PRODUCTS = 120
CARDS = [
    f"{colour} Mug £{price}"
    for colour, price in [
        ("Blue", 12),
        ("Red", 14),
        ("Green", 11),
        ("Black", 15),
        ("White", 10),
        ("Grey", 13),
    ]
]


def product(i: int, version: int) -> bytes:
    rng = random.Random(100 * version + i)
    cards = "".join(
        f"<li><a href='/p/{rng.randrange(PRODUCTS)}'>{c}</a></li>" for c in rng.sample(CARDS, 3)
    )
    ld = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": f"Stoneware mug {i}",
        "sku": f"MUG-{i:03d}",
        "offers": {
            "@type": "Offer",
            "price": f"{10 + i % 7}.50",
            "priceCurrency": "GBP",
            "availability": "https://schema.org/InStock",
        },
    }
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Stoneware mug {i} | Clay Co</title>
<script type="application/ld+json">{json.dumps(ld)}</script></head><body>
<header><nav><a href="/">Home</a> <a href="/p/0">Mugs</a></nav></header>
<main><div class="product"><h1>Stoneware mug {i}</h1><p class="price">£{10 + i % 7}.50</p>
<p>In stock</p>
<p>A hand-thrown stoneware mug number {i}, glazed in the studio and fired twice so it keeps
coffee hot for longer than a thin porcelain cup would.</p>
<table><tr><th>Capacity</th><td>{300 + i} ml</td></tr><tr><th>Dishwasher safe</th><td>Yes</td></tr></table>
<button class="add-to-cart">Add to cart</button></div>
<section class="recommendations"><h2>Customers also viewed</h2><ul>{cards}</ul></section></main>
<footer><p>© 202{version} Clay Co · Unit 4, Kiln Lane</p></footer></body></html>""".encode()


def site(version: int) -> dict[str, bytes]:
    pages = {f"/p/{i}": product(i, version) for i in range(PRODUCTS)}
    links = "".join(f"<li><a href='/p/{i}'>Stoneware mug {i}</a></li>" for i in range(PRODUCTS))
    pages["/"] = (
        f"<!doctype html><html><head><title>Clay Co</title></head><body><main>"
        f"<h1>Clay Co mugs</h1><ul>{links}</ul></main></body></html>"
    ).encode()
    return pages


@pytest.fixture
def openai_server():
    with OpenAIServer(chat_handler=chat_answer) as server:
        yield server


@pytest.fixture
def shop(db):
    served = testsite.start(testsite.TestSite(pages=site(1)))
    yield served
    served.server.shutdown()
    served.server.server_close()


def jobs(db, job_type=None):
    return db.execute(
        "SELECT * FROM content_refresh_jobs WHERE job_type <> 'crawl' AND "
        "(%s::text IS NULL OR job_type = %s) ORDER BY created_at",
        (job_type, job_type),
    ).fetchall()


def contents(db):
    return {
        r["url"]: (r["content"], r["updated_at"])
        for r in db.execute(
            "SELECT url, content, updated_at FROM website_content WHERE url LIKE '%%/p/%%'"
        )
    }


def test_a_template_only_change_rewrites_nothing_queues_nothing_and_spends_nothing(
    shop, db, openai_server, redis_client
):
    first = crawl(shop.domain)
    assert first["status"] == "completed", first
    stored = contents(db)
    assert len(stored) == PRODUCTS
    assert all(
        "Customers also viewed" not in text and "Mug £" not in text for text, _ in stored.values()
    )
    queued = jobs(db)
    assert len(queued) == 6  # two batches of 100 pages: extract, optimize and embed each
    with settings_env(
        OPENAI_BASE_URL=openai_server.base_url, OPENAI_API_KEY="test-key", OMNI_OPTIMIZER="openai"
    ):
        for job in jobs(db, "optimize"):
            run_optimize(db, job, get_settings())
        paid = len([r for r in openai_server.requests if r.path.endswith("/chat/completions")])
        pages = sum(len(job["metadata"]["page_ids"]) for job in jobs(db, "optimize"))
        assert paid == pages >= PRODUCTS + 1  # one request a page

        shop.pages.update(site(2))  # new cards in every <main>, a new footer year
        redis_client.flushdb()
        second = crawl(shop.domain)
        assert second["status"] == "completed", second
        assert second["jobs_enqueued"] == 0 and len(jobs(db)) == len(queued)
        assert redis_client.llen("dramatiq:optimize") == 0
        assert contents(db) == stored  # same text, same updated_at: nothing rewritten
        for job in jobs(db, "optimize"):  # even a redelivered old job spends nothing
            run_optimize(db, job, get_settings())
        assert (
            len([r for r in openai_server.requests if r.path.endswith("/chat/completions")]) == paid
        )

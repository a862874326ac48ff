"""`omni serve` end to end: a real uvicorn on 127.0.0.1 (the CLI in a subprocess), httpx as the
client, the local OpenAI-compatible server as the embedder, real Postgres RLS and Redis."""

from __future__ import annotations

import json
import os
import subprocess
import time

import httpx
import pytest
from psycopg.types.json import Jsonb

from core.config import get_settings
from db import api_keys, jobs, knowledge, tenants
from tests.support.worker_fixtures import REPO, VENV_BIN, add_page
from workers.embed_job import run_embed

SITE = "https://widget.example.com"


def _tenant(db, email: str, domain: str, origins: list[str], rate: int):
    customer = tenants.add_customer(db, email)
    row = db.execute(
        "INSERT INTO domains (user_id, domain) VALUES (%s, %s) RETURNING *",
        (customer["auth_user_id"], domain),
    ).fetchone()
    db.execute(
        "INSERT INTO customer_configs (customer_id, domain_id, allowed_origins, rate_limit) "
        "VALUES (%s, %s, %s, %s)",
        (customer["id"], row["id"], origins, rate),
    )
    return customer, row


@pytest.fixture
def server(db, openai_env, tmp_path):

    alice, shop = _tenant(db, "alice@alice.co.uk", "alice-shop.co.uk", [SITE], 3)
    _bob, other = _tenant(db, "bob@bob.co.uk", "bob-shop.co.uk", ["*"], 100)
    pages = [
        add_page(
            db,
            shop["id"],
            "https://alice-shop.co.uk/returns",
            "Returns",
            "You can return any item within 30 days for a refund.",
        ),
        add_page(
            db, other["id"], "https://bob-shop.co.uk/secret", "Secret", "bob private refund text"
        ),
    ]
    db.execute(
        "INSERT INTO structured_extractions (domain_id, url, extract_type, extracted_data) "
        "VALUES (%s, %s, 'faq', %s)",
        (
            shop["id"],
            "https://alice-shop.co.uk/returns",
            Jsonb({"question": "Can I return?", "answer": "Yes"}),
        ),
    )
    for domain, page in ((shop, pages[0]), (other, pages[1])):
        job_id = jobs.create(db, domain["id"], "embed", {"page_ids": [str(page)]})
        run_embed(db, jobs.get(db, job_id), get_settings())
    _row, key = api_keys.create(db, "alice@alice.co.uk")
    env = {**os.environ, "OMNI_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [str(VENV_BIN / "omni"), "serve", "--port", "0"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "serve.json").exists():
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "omni serve did not start"
            time.sleep(0.2)
        url = json.loads((tmp_path / "serve.json").read_text())["url"]
        yield url, key, tmp_path
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert not (tmp_path / "serve.json").exists()  # the file goes with the server


def _search(url, key, domain="alice-shop.co.uk", **headers):
    return httpx.post(
        f"{url}/v1/search",
        json={"domain": domain, "query": "return refund", "k": 3},
        headers={"Authorization": f"Bearer {key}", **headers},
        timeout=60,
    )


def test_search_cors_auth_isolation_and_rate_limit(server):
    url, key, data_dir = server
    # a browser's preflight from the widget's origin, then the POST from it
    pre = httpx.options(
        f"{url}/v1/search",
        headers={
            "Origin": SITE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == SITE
    assert "authorization" in pre.headers["access-control-allow-headers"]
    answer = _search(url, key, Origin=SITE)
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == SITE
    top = answer.json()["results"][0]
    assert top["url"] == "https://alice-shop.co.uk/returns" and top["title"] == "Returns"
    assert "heading_path" in top and top["score"] is not None
    assert top["facts"] == [
        {"type": "faq", "data": {"question": "Can I return?", "answer": "Yes"}, "confidence": None}
    ]
    # an origin alice did not list gets no CORS headers (bob's '*' opens preflights, not her
    # answers)
    assert (
        "access-control-allow-origin" not in _search(url, key, Origin="https://evil.test").headers
    )
    # a wrong key
    assert _search(url, key[:-2] + "xx").status_code == 401
    assert (
        httpx.post(
            f"{url}/v1/search", json={"domain": "alice-shop.co.uk", "query": "x"}
        ).status_code
        == 401
    )
    # bob's domain is not there for alice's key: the same answer as a domain that does not exist
    assert _search(url, key, domain="bob-shop.co.uk").status_code == 404
    # rate_limit 3 a minute: three requests were taken above, the next is refused
    refused = _search(url, key)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    # `omni search` goes through the running server and says so
    env = {**os.environ, "OMNI_DATA_DIR": str(data_dir)}
    cli = subprocess.run(
        [str(VENV_BIN / "omni"), "search", "return refund", "-d", "alice-shop.co.uk", "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert "through omni serve" in cli.stderr
    assert json.loads(cli.stdout)[0]["url"] == "https://alice-shop.co.uk/returns"


def test_a_curated_answer_is_found_through_the_api_before_crawled_text(db, server):
    """A curated answer (db/knowledge.py) reaches the retrieval API as the tenant reads it (its
    RLS), above the crawled page on the same subject, and leaves it when removed."""
    url, key, _ = server
    shop = tenants.get_domain(db, "alice-shop.co.uk")
    question = "Can I get a refund after 30 days?"
    with db.transaction():
        row = knowledge.add(db, shop, question, "Yes: within 60 days for members, with receipt.")
        job_id, _ = knowledge.sync_job(db, shop["id"])
    run_embed(db, jobs.get(db, job_id), get_settings())

    def ask() -> list[dict]:
        answer = httpx.post(
            f"{url}/v1/search",
            json={"domain": "alice-shop.co.uk", "query": question, "k": 3},
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["results"]

    found = ask()
    assert [r["url"] for r in found][:2] == [
        f"curated:{row['id']}",
        "https://alice-shop.co.uk/returns",
    ]
    assert found[0]["title"] == question and "60 days" in found[0]["chunk"]
    with db.transaction():
        knowledge.remove(db, row["id"])
    assert [r["url"] for r in ask()] == ["https://alice-shop.co.uk/returns"]

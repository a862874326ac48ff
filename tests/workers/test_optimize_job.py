"""run_optimize against the real test database, offline and with the real `openai` client talking
to the local OpenAI-compatible server (tests/support/openai_server.py)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from core.config import get_settings, reload_settings
from db import jobs
from db.connection import connect
from tests.support.extract_fixtures import page_html
from tests.support.openai_server import OpenAIServer, Reply
from workers.errors import PermanentError, TransientError
from workers.extract_job import run_extract
from workers.optimization.offline import MODEL_NAME as OFFLINE_MODEL
from workers.optimize_job import run_optimize


def chat_answer(request: dict[str, Any]) -> str:
    """A schema-conforming answer built from the page in the request (so each page differs)."""
    user = request["messages"][-1]["content"]
    url = user.splitlines()[0].removeprefix("URL: ")
    return json.dumps(
        {
            "title": f"Optimised {url}",
            "summary": "A short summary of the page for customers.",
            "content": "Clean content.\n\nWith two paragraphs that keep every fact.",
            "key_points": ["First point", "Second point", "first point"],
            "topics": ["Coffee", "Brewing"],
            "meta_title": "A meta title that is much too long for search results, so it gets "
            "trimmed by us",
            "meta_description": "Buy coffee gear.",
            "keywords": ["coffee", "dripper"],
        }
    )


@pytest.fixture
def openai_server(monkeypatch):
    with OpenAIServer(chat_handler=chat_answer) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OMNI_CHAT_MODEL", "gpt-4o-mini")
        monkeypatch.setenv("OMNI_OPENAI_TIMEOUT", "2")
        reload_settings()
        yield server
    monkeypatch.undo()
    reload_settings()


def _chat_requests(server):
    return [r for r in server.requests if r.path.endswith("/chat/completions")]


def _optimized(db):
    return db.execute("SELECT * FROM ai_optimized_content ORDER BY url").fetchall()


def _usage(db):
    return db.execute(
        "SELECT usage_type, model, requests, tokens, cost FROM business_usage"
    ).fetchall()


def test_openai_one_json_schema_request_per_page_results_and_usage_recorded(
    db, add_html_page, make_job, openai_server
):
    ids = [
        add_html_page(
            "woo",
            page_html("woo_product.html"),
            title="Ceramic Dripper",
            metadata={"headings": ["Ceramic Dripper", "Description"], "description": "A dripper."},
        ),
        add_html_page("faq", page_html("faq_jsonld.html"), title="Shipping FAQ"),
    ]
    run_extract(db, make_job("extract", ids))
    stats = run_optimize(db, make_job("optimize", ids), get_settings())

    requests = _chat_requests(openai_server)
    assert len(requests) == 2
    body = requests[0].body
    assert body["model"] == "gpt-4o-mini"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert body["response_format"]["json_schema"]["schema"]["additionalProperties"] is False
    assert "Hand-glazed ceramic dripper" in body["messages"][-1]["content"]
    assert requests[0].headers["authorization"] == "Bearer sk-test"

    rows = {r["url"]: r for r in _optimized(db)}
    woo = rows["https://shop.test/woo"]
    assert woo["optimized_title"] == "Optimised https://shop.test/woo"
    assert woo["key_points"] == ["First point", "Second point"]  # de-duplicated
    assert woo["keywords"] == ["coffee", "dripper"] and woo["topics"] == ["Coffee", "Brewing"]
    assert len(woo["meta_title"]) <= 60
    assert woo["ai_model_used"] == "gpt-4o-mini" and woo["processing_tokens"] > 0
    assert (
        woo["content_type"] == "product" and rows["https://shop.test/faq"]["content_type"] == "faq"
    )
    assert woo["structured_data"]["extractions"]["products"][0]["sku"] == "BL-DRIP-02"
    assert woo["source_content_id"] is not None
    for score in ("readability_score", "content_quality_score", "seo_score"):
        assert 0 <= woo[score] <= 100

    tokens = sum(r["processing_tokens"] for r in rows.values())
    assert stats["optimize_tokens"] == tokens and stats["optimize_requests"] == 2
    expected_cost = (
        Decimal(stats["optimize_prompt_tokens"]) * Decimal("0.15")
        + Decimal(stats["optimize_completion_tokens"]) * Decimal("0.60")
    ) / 1_000_000
    assert Decimal(stats["optimize_cost"]) == expected_cost.quantize(Decimal("0.000001"))
    [usage] = _usage(db)
    assert (usage["usage_type"], usage["model"], usage["requests"], usage["tokens"]) == (
        "optimization",
        "gpt-4o-mini",
        2,
        tokens,
    )
    assert usage["cost"] == expected_cost.quantize(Decimal("0.000001"))


def test_unchanged_site_costs_nothing_the_second_time_and_force_reoptimises(
    db, add_html_page, make_job, openai_server
):
    ids = [
        add_html_page("a", page_html("jsonld_product.html")),
        add_html_page("b", page_html("contact.html")),
    ]
    run_optimize(db, make_job("optimize", ids), get_settings())
    again = run_optimize(db, make_job("optimize", ids), get_settings())
    assert (
        again["optimize_requests"],
        again["optimize_tokens"],
        again["optimize_skipped_unchanged"],
    ) == (0, 0, 2)
    assert len(_chat_requests(openai_server)) == 2 and len(_optimized(db)) == 2

    add_html_page("b", "<html><body><p>We moved. New address soon.</p></body></html>")  # b changed
    changed = run_optimize(db, make_job("optimize", ids), get_settings())
    assert (changed["optimize_requests"], changed["optimize_skipped_unchanged"]) == (1, 1)

    forced = run_optimize(db, make_job("optimize", ids, force=True), get_settings())
    assert forced["optimize_requests"] == 2 and len(_optimized(db)) == 2
    assert _usage(db)[0]["requests"] == 5


@pytest.mark.parametrize(
    "reply, retry_after",
    [
        (Reply.rate_limited(retry_after=7), 7.0),
        (Reply.rate_limited(retry_after=None), None),
        (Reply.server_error(500), None),
        (Reply.server_error(503), None),
    ],
)
def test_rate_limits_and_server_errors_are_transient(
    db, add_html_page, make_job, openai_server, reply, retry_after
):
    page = add_html_page("a", page_html("jsonld_product.html"))
    openai_server.script(reply)
    with pytest.raises(TransientError) as caught:
        run_optimize(db, make_job("optimize", [page]), get_settings())
    assert caught.value.retry_after == retry_after
    assert len(_chat_requests(openai_server)) == 1  # no hidden client retries
    assert _optimized(db) == [] and _usage(db) == []
    # the retry (the worker's job) succeeds and records the page once
    stats = run_optimize(db, make_job("optimize", [page]), get_settings())
    assert stats["optimize_pages"] == 1 and len(_optimized(db)) == 1


def test_slow_endpoint_times_out_as_transient(
    db, add_html_page, make_job, openai_server, monkeypatch
):
    monkeypatch.setenv("OMNI_OPENAI_TIMEOUT", "0.3")
    reload_settings()
    openai_server.script(Reply.slow(1.5))
    with pytest.raises(TransientError):
        run_optimize(
            db,
            make_job("optimize", [add_html_page("a", page_html("jsonld_product.html"))]),
            get_settings(),
        )


@pytest.mark.parametrize(
    "reply",
    [
        Reply.bad_request("context too long"),
        Reply(
            401,
            {
                "error": {
                    "message": "bad key",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            },
        ),
    ],
)
def test_client_errors_are_permanent(db, add_html_page, make_job, openai_server, reply):
    openai_server.script(reply)
    with pytest.raises(PermanentError, match="context too long|bad key"):
        run_optimize(
            db,
            make_job("optimize", [add_html_page("a", page_html("jsonld_product.html"))]),
            get_settings(),
        )


def test_an_answer_that_breaks_the_schema_is_permanent(db, add_html_page, make_job, openai_server):
    openai_server.chat_handler = lambda request: '{"title": "only a title"}'
    with pytest.raises(PermanentError, match="schema"):
        run_optimize(
            db,
            make_job("optimize", [add_html_page("a", page_html("jsonld_product.html"))]),
            get_settings(),
        )
    assert _optimized(db) == []


def test_unreachable_endpoint_is_transient(db, add_html_page, make_job, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # discard port: refused
    reload_settings()
    try:
        with pytest.raises(TransientError):
            run_optimize(
                db,
                make_job("optimize", [add_html_page("a", page_html("jsonld_product.html"))]),
                get_settings(),
            )
    finally:
        monkeypatch.undo()
        reload_settings()


def test_offline_optimiser_without_an_endpoint(db, add_html_page, make_job):
    ids = [
        add_html_page(name, page_html(name)) for name in ("woo_product.html", "faq_headings.html")
    ]
    ids.append(add_html_page("empty", "<html></html>", content=""))
    stats = run_optimize(db, make_job("optimize", ids), get_settings())
    assert stats["optimizer"] == "offline"
    assert (stats["optimize_pages"], stats["optimize_skipped_empty"], stats["optimize_tokens"]) == (
        2,
        1,
        0,
    )
    rows = _optimized(db)
    assert len(rows) == 2
    for row in rows:
        assert row["ai_model_used"] == OFFLINE_MODEL and row["processing_tokens"] == 0
        assert row["processing_cost"] == 0
        assert row["optimized_summary"] and row["keywords"] and row["key_points"]
        assert 0 < len(row["meta_description"]) <= 155 and 0 < len(row["meta_title"]) <= 60
        assert (
            row["readability_score"] > 0
            and row["seo_score"] > 0
            and row["content_quality_score"] > 0
        )
    assert _usage(db) == []  # nothing to bill
    assert (
        run_optimize(db, make_job("optimize", ids), get_settings())["optimize_skipped_unchanged"]
        == 2
    )


def test_switching_to_the_api_reoptimises_offline_results(db, add_html_page, make_job, monkeypatch):
    page = add_html_page("a", page_html("jsonld_product.html"))
    run_optimize(db, make_job("optimize", [page]), get_settings())
    with OpenAIServer(chat_handler=chat_answer) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        reload_settings()
        try:
            assert (
                run_optimize(db, make_job("optimize", [page]), get_settings())["optimize_requests"]
                == 1
            )
        finally:
            monkeypatch.undo()
            reload_settings()
    assert _optimized(db)[0]["ai_model_used"] == "gpt-4o-mini"


def test_missing_pages_are_permanent(db, domain, make_job):
    with pytest.raises(PermanentError):
        run_optimize(
            db, make_job("optimize", ["00000000-0000-0000-0000-000000000000"]), get_settings()
        )


def test_with_a_pooled_style_connection_pages_done_survive_a_later_failure(
    db, add_html_page, make_job, openai_server
):
    """The workers core hands over a non-autocommit connection and rolls back on error: a page
    already optimised (and paid for) stays recorded, so the retry does not pay for it again."""

    ids = [
        add_html_page("a", page_html("jsonld_product.html")),
        add_html_page("b", page_html("contact.html")),
    ]
    job = make_job("optimize", ids)
    openai_server.script(Reply(), Reply.server_error(502))  # page a answers, page b fails
    with connect() as conn:
        assert not conn.autocommit
        with pytest.raises(TransientError):
            run_optimize(conn, job, get_settings())
        conn.rollback()
    assert [r["url"] for r in _optimized(db)] == ["https://shop.test/a"]
    assert _usage(db)[0]["requests"] == 1
    with connect() as conn:
        stats = run_optimize(conn, job, get_settings())
        conn.commit()
    assert (stats["optimize_requests"], stats["optimize_skipped_unchanged"]) == (1, 1)
    assert len(_chat_requests(openai_server)) == 3 and len(_optimized(db)) == 2


def test_a_run_taken_over_while_the_api_answered_writes_nothing_but_records_what_it_paid(
    db, add_html_page, make_job, monkeypatch
):
    ids = [add_html_page("faq", page_html("faq_jsonld.html"), title="Shipping FAQ")]
    job = make_job("optimize", ids)

    def answer_after_a_takeover(request: dict[str, Any]) -> str:
        # another worker takes the job over while this one waits for the API's answer
        with connect(autocommit=True) as other:
            other.execute(
                "UPDATE content_refresh_jobs SET metadata = metadata || jsonb_build_object("
                "'lease_expires_at', (now() - interval '1 second')::text) WHERE id = %s",
                (job["id"],),
            )
            assert jobs.start(other, job["id"]) is not None
        return chat_answer(request)

    with OpenAIServer(chat_handler=answer_after_a_takeover) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OMNI_CHAT_MODEL", "gpt-4o-mini")
        reload_settings()
        try:
            with pytest.raises(jobs.LeaseLost):
                run_optimize(db, job, get_settings())
        finally:
            monkeypatch.undo()
            reload_settings()
        billed = server.billed_tokens
    assert _optimized(db) == []  # the page belongs to the run that took over
    [usage] = _usage(db)
    assert usage["requests"] == 1 and usage["tokens"] == billed > 0

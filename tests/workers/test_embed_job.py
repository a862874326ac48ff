"""run_embed against real Postgres and the real openai client on the local server."""

from __future__ import annotations

from uuid import UUID

import pytest
from psycopg.types.json import Jsonb

from content.chunking import context_line, embedding_text
from core.config import get_settings
from db import embed_sizing, jobs
from tests.support.openai_server import Reply
from tests.support.worker_fixtures import add_page, embedding_rows, long_page, make_domain
from workers.embed_job import run_embed, run_embed_merged
from workers.errors import PermanentError, TransientError


def _job(conn, domain_id, page_ids, **meta):
    job_id = jobs.create(conn, domain_id, "embed", {"page_ids": [str(p) for p in page_ids], **meta})
    return jobs.get(conn, job_id)


def _inputs(server) -> list[str]:
    out = []
    for request in server.embedding_requests():
        raw = request.body["input"]
        out.extend([raw] if isinstance(raw, str) else raw)
    return out


def _embedded(row, title: str) -> str:
    """The text the row's vector was made from: the context line, then the stored text."""
    return embedding_text(
        context_line(title, tuple(row["metadata"]["heading_path"])), row["chunk_text"]
    )


def test_first_embed_writes_every_chunk_with_its_model_and_usage(db, openai_env):
    domain = make_domain(db)
    pages = [
        add_page(db, domain["id"], f"https://shop.example/{t}", t.title(), long_page(t))
        for t in ("shipping", "returns")
    ]
    stats = run_embed(db, _job(db, domain["id"], pages), get_settings())
    rows = embedding_rows(db)
    assert stats["chunks_embedded"] == len(rows) == stats["chunks"] > 4
    assert {r["metadata"]["model"] for r in rows} == {"text-embedding-3-small"}
    assert all(len(r["embedding"].to_numpy()) == 1536 for r in rows)
    assert all(r["metadata"]["token_count"] <= 120 + 15 + 2 for r in rows)
    titles = dict(zip(pages, ("Shipping", "Returns"), strict=False))
    assert all(r["metadata"]["heading_path"][0] == titles[r["page_id"]] for r in rows)
    # every text was sent once, in one request (well under the limits)
    assert len(openai_env.embedding_requests()) == 1 == stats["requests"]
    assert sorted(_inputs(openai_env)) == sorted(_embedded(r, titles[r["page_id"]]) for r in rows)
    assert all(not r["chunk_text"].startswith(titles[r["page_id"]] + " >") for r in rows)
    assert stats["tokens"] > 0 and stats["cost"] > 0
    usage = db.execute("SELECT * FROM business_usage").fetchall()
    assert [(u["usage_type"], u["model"], u["tokens"], u["requests"]) for u in usage] == [
        ("embedding", "text-embedding-3-small", stats["tokens"], 1)
    ]


def test_unchanged_site_costs_zero_tokens(db, openai_env):
    domain = make_domain(db)
    pages = [
        add_page(db, domain["id"], f"https://shop.example/{t}", t, long_page(t))
        for t in ("shipping", "returns", "sizes")
    ]
    run_embed(db, _job(db, domain["id"], pages), get_settings())
    before = {r["id"] for r in embedding_rows(db)}
    openai_env.clear()
    stats = run_embed(db, _job(db, domain["id"], pages), get_settings())
    assert stats["tokens"] == 0 and stats["requests"] == 0 and stats["chunks_embedded"] == 0
    assert openai_env.embedding_requests() == []
    assert {r["id"] for r in embedding_rows(db)} == before


def test_changed_page_re_embeds_only_changed_chunks(db, openai_env):
    domain = make_domain(db)
    text = long_page("shipping")
    page = add_page(db, domain["id"], "https://shop.example/shipping", "Shipping", text)
    run_embed(db, _job(db, domain["id"], [page]), get_settings())
    before = {r["metadata"]["chunk_hash"]: r for r in embedding_rows(db, page)}

    changed = text.replace(
        "Paragraph 1.3 about shipping", "Paragraph 1.3 (NEW: free express delivery) about shipping"
    ).replace(
        "Paragraph 2.7 about shipping: the shipping service handles item 7 carefully, with details "
        "number 207 that customers often ask about when they contact support.",
        "",
    )
    add_page(db, domain["id"], "https://shop.example/shipping", "Shipping", changed)
    openai_env.clear()
    stats = run_embed(db, _job(db, domain["id"], [page]), get_settings())
    after = {r["metadata"]["chunk_hash"]: r for r in embedding_rows(db, page)}

    new_hashes = set(after) - set(before)
    assert new_hashes and len(new_hashes) < len(after) / 2
    assert sorted(_inputs(openai_env)) == sorted(
        _embedded(after[h], "Shipping") for h in new_hashes
    )
    assert stats["chunks_embedded"] == len(new_hashes)
    assert stats["chunks_unchanged"] == len(set(after) & set(before))
    assert stats["chunks_deleted"] == len(set(before) - set(after)) > 0
    for h in set(after) & set(before):  # kept rows are the very same rows
        assert after[h]["id"] == before[h]["id"]
    assert any("free express" in after[h]["chunk_text"] for h in new_hashes)
    indexes = sorted(r["metadata"]["chunk_index"] for r in after.values())
    assert indexes == list(range(len(after)))


def test_identical_texts_are_embedded_once(db, openai_env):
    domain = make_domain(db)
    same = long_page("warranty", paragraphs=2)
    pages = [
        add_page(db, domain["id"], f"https://shop.example/w{i}", "Warranty", same) for i in range(3)
    ]
    stats = run_embed(db, _job(db, domain["id"], pages), get_settings())
    rows = embedding_rows(db)
    per_page = len(rows) // 3
    assert len(_inputs(openai_env)) == per_page == stats["chunks_embedded"] // 3
    # later pages with the same text reuse the stored vectors
    page4 = add_page(db, domain["id"], "https://shop.example/w4", "Warranty", same)
    openai_env.clear()
    stats = run_embed(db, _job(db, domain["id"], [page4]), get_settings())
    assert openai_env.embedding_requests() == [] and stats["chunks_reused"] == per_page


def test_force_re_embeds_everything(db, openai_env):
    domain = make_domain(db)
    page = add_page(db, domain["id"], "https://shop.example/a", "A", long_page("sizes"))
    run_embed(db, _job(db, domain["id"], [page]), get_settings())
    before = {r["id"] for r in embedding_rows(db)}
    openai_env.clear()
    stats = run_embed(db, _job(db, domain["id"], [page], force=True), get_settings())
    after = embedding_rows(db)
    assert len(_inputs(openai_env)) == len(after) == stats["chunks_embedded"]
    assert before.isdisjoint({r["id"] for r in after})


def test_a_page_emptied_loses_its_rows_and_missing_pages_are_counted(db, openai_env):
    domain = make_domain(db)
    page = add_page(db, domain["id"], "https://shop.example/a", "A", long_page("sizes"))
    run_embed(db, _job(db, domain["id"], [page]), get_settings())
    add_page(db, domain["id"], "https://shop.example/a", "A", "")
    gone = "00000000-0000-0000-0000-000000000001"
    stats = run_embed(db, _job(db, domain["id"], [page, gone]), get_settings())
    assert embedding_rows(db) == [] and stats["pages_missing"] == 1


@pytest.mark.parametrize("kind", ["navigation", "excluded"])
def test_pages_that_are_not_knowledge_are_not_embedded_and_lose_their_rows(db, openai_env, kind):
    domain = make_domain(db)
    index = add_page(db, domain["id"], "https://shop.example/genindex", "Index", long_page("names"))
    answer = add_page(db, domain["id"], "https://shop.example/wave", "Wave", long_page("wave"))
    run_embed(db, _job(db, domain["id"], [index, answer]), get_settings())
    assert embedding_rows(db, index) and embedding_rows(db, answer)
    sent = len(_inputs(openai_env))
    db.execute(
        "UPDATE scraped_pages SET metadata = metadata || jsonb_build_object('page_kind', %s::text) "
        "WHERE id = %s",
        (kind, index),
    )
    stats = run_embed(db, _job(db, domain["id"], [index, answer]), get_settings())
    assert embedding_rows(db, index) == [] and embedding_rows(db, answer)
    assert stats["chunks_deleted"] > 0 and len(_inputs(openai_env)) == sent  # nothing sent


def test_rate_limit_storm_ends_in_success(db, openai_env):
    domain = make_domain(db)
    page = add_page(db, domain["id"], "https://shop.example/a", "A", long_page("sizes"))
    openai_env.script(
        *[Reply.rate_limited(retry_after=0.05)] * 3, Reply.server_error(503), path="/v1/embeddings"
    )
    stats = run_embed(db, _job(db, domain["id"], [page]), get_settings())
    requests = openai_env.embedding_requests()
    assert len(requests) == 5 and stats["request_attempts"] == 5 and stats["requests"] == 1
    gaps = [b.time - a.time for a, b in zip(requests, requests[1:], strict=False)]
    assert min(gaps[:3]) >= 0.05  # Retry-After honoured
    assert len(embedding_rows(db)) == stats["chunks_embedded"] > 0


def test_retries_exhausted_raise_transient_with_retry_after(db, openai_env):
    domain = make_domain(db)
    page = add_page(db, domain["id"], "https://shop.example/a", "A", long_page("sizes"))
    openai_env.script(*[Reply.rate_limited(retry_after=0.01)] * 6, path="/v1/embeddings")
    with pytest.raises(TransientError) as info:
        run_embed(db, _job(db, domain["id"], [page]), get_settings())
    assert info.value.retry_after == pytest.approx(0.01)
    assert embedding_rows(db) == []


def test_bad_request_is_permanent(db, openai_env):
    domain = make_domain(db)
    page = add_page(db, domain["id"], "https://shop.example/a", "A", long_page("sizes"))
    openai_env.script(Reply.bad_request("This model does not exist"), path="/v1/embeddings")
    with pytest.raises(PermanentError, match="This model does not exist"):
        run_embed(db, _job(db, domain["id"], [page]), get_settings())
    assert len(openai_env.embedding_requests()) == 1


def test_bad_page_ids_are_permanent(db, openai_env):
    domain = make_domain(db)
    with pytest.raises(PermanentError, match="not a page id"):
        run_embed(db, _job(db, domain["id"], ["nope"]), get_settings())


def test_a_page_is_chunked_from_its_markdown_not_its_flat_text(db, openai_env):
    """The crawl stores the main text one block a line and its Markdown in metadata.markdown:
    the chunks follow the Markdown's headings, code stays whole, pilcrows are gone."""
    domain = make_domain(db)
    flat = "Install\nRun the installer.\npip install omni\nUpgrade\nRun it again."
    markdown = (
        "# Install¶\n\nRun the installer.\n\n```\npip install omni\n```\n\n"
        "## Upgrade[¶](#upgrade)\n\n" + "Run it again, then restart. " * 40
    )
    page = add_page(db, domain["id"], "https://shop.example/install", "Install", flat)
    db.execute(
        "UPDATE scraped_pages SET metadata = jsonb_build_object('markdown', %s::text) "
        "WHERE id = %s",
        (markdown, page),
    )
    run_embed(db, _job(db, domain["id"], [page]), get_settings())
    rows = embedding_rows(db, page)
    assert {tuple(r["metadata"]["heading_path"]) for r in rows} >= {("Install", "Upgrade")}
    assert any("```\npip install omni\n```" in r["chunk_text"] for r in rows)
    assert not any("¶" in r["chunk_text"] or "](#" in r["chunk_text"] for r in rows)


def test_chunks_carry_their_pages_language_for_the_keyword_side(db, openai_env):
    domain = make_domain(db)
    page = add_page(db, domain["id"], "https://shop.example/en", "Leaving", long_page("exits"))
    db.execute(
        'UPDATE scraped_pages SET metadata = \'{"language": "en-gb"}\' WHERE id = %s', (page,)
    )
    run_embed(db, _job(db, domain["id"], [page]), get_settings())
    rows = db.execute(
        "SELECT metadata->>'language' AS language, chunk_tsv::text AS tsv "
        "FROM page_embeddings WHERE page_id = %s",
        (page,),
    ).fetchall()
    assert rows and all(r["language"] == "en-gb" for r in rows)
    assert any("'exit'" in r["tsv"] for r in rows)  # stemmed: "exits" -> exit


def test_a_job_over_its_budget_splits_and_every_page_is_embedded_once(db, openai_env):
    """Sized from measured throughput (db/embed_sizing.py): the job keeps what fits in a
    quarter of the time limit at the measured rate and hands the rest to new jobs."""
    domain = make_domain(db)
    pages = [
        str(add_page(db, domain["id"], f"https://shop.example/{t}", t.title(), long_page(t)))
        for t in ("shipping", "returns", "payment", "warranty", "sizes")
    ]
    cost = embed_sizing.page_tokens(db, domain["id"], pages)
    budget = cost[pages[0]] + cost[pages[1]] + 1  # two pages fit
    limit = get_settings().worker_time_limit_s
    seconds = limit * embed_sizing.TIME_SHARE
    db.execute(  # one earlier run measured at budget / (a quarter of the limit) tokens/s
        "INSERT INTO content_refresh_jobs (domain_id, job_type, status, metadata) "
        "VALUES (%s, 'embed', 'completed', %s)",
        (
            domain["id"],
            Jsonb(
                {
                    "embedding_model": "text-embedding-3-small",
                    "tokens": budget,
                    "duration_seconds": seconds,
                }
            ),
        ),
    )
    job = jobs.start(db, _job(db, domain["id"], pages)["id"])
    stats = run_embed_merged(db, job, get_settings())
    assert stats["pages"] == 2 and "merged_jobs" not in stats
    kept = jobs.get(db, job["id"])["metadata"]
    assert kept["page_ids"] == pages[:2]
    split = [jobs.get(db, i) for i in kept["split_into"]]
    assert [s["metadata"]["page_ids"] for s in split] == [pages[2:4], pages[4:]]
    assert all(s["status"] == "pending" for s in split)
    for s in split:
        run_embed_merged(db, jobs.start(db, s["id"]), get_settings())
    rows = embedding_rows(db)
    assert {r["page_id"] for r in rows} == {UUID(p) for p in pages}
    assert len(_inputs(openai_env)) == len(rows)  # every chunk paid for once

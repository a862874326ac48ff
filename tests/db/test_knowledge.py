"""Curated answers as knowledge: chunked and embedded like pages through the real embed job and
the local OpenAI-compatible server, found by both search functions above crawled text for the
same question, re-embedded alone when edited, out of search when deleted."""

from __future__ import annotations

import pytest

from core.config import get_settings
from db import jobs, knowledge
from tests.support.worker_fixtures import add_page, long_page, make_domain
from workers.embed_job import run_embed
from workers.search import query_vectors, search

QUESTION = "Can I return an item after opening it?"
ANSWER = "Yes. Opened items can be returned within 30 days with the receipt; we refund the card."
CRAWLED = (
    "# Returns\n\nReturning an item is easy. Items can be returned within 14 days if "
    "unopened. After opening an item, returns depend on the product: contact us. "
    "Shipping costs of returns are paid by the customer. Refunds reach the card in 5 days."
)


def _embed(db, job_id) -> dict:
    return run_embed(db, jobs.get(db, job_id), get_settings())


@pytest.fixture
def shop(db, openai_env):
    domain = make_domain(db, "returns.example")
    page = add_page(db, domain["id"], "https://returns.example/returns", "Returns", CRAWLED)
    _embed(db, jobs.create(db, domain["id"], "embed", {"page_ids": [str(page)]}))
    return domain


def _add(db, domain, question=QUESTION, answer=ANSWER):
    with db.transaction():
        row = knowledge.add(db, domain, question, answer)
        job_id, result = knowledge.sync_job(db, domain["id"])
    return row, job_id, result


def _chat_app_search(db, domain, query: str) -> list[dict]:
    """The chat app's signature (0075): by domain id, with a similarity threshold."""
    [vector] = query_vectors(db, [query], domain["domain"], settings=get_settings())
    return [
        {"url": r["url"], "title": r["title"], "chunk": r["chunk_text"]}
        for r in db.execute(
            "SELECT url, title, chunk_text FROM search_embeddings(p_domain_id => %s, "
            "query_embedding => %s::vector, match_threshold => 0.0, match_count => 5)",
            (domain["id"], vector),
        )
    ]


@pytest.mark.parametrize("how", ["vector", "hybrid", "chat_app"])
@pytest.mark.parametrize("query", [QUESTION, "can i return an item i opened"])
def test_a_curated_answer_ranks_above_crawled_text_for_its_question(db, shop, how, query):
    row, job_id, result = _add(db, shop)
    assert len(result["page_ids"]) == 1
    stats = _embed(db, job_id)
    assert stats["chunks_embedded"] == 1
    assert knowledge.get(db, row["id"])["status"] == "completed"
    if how == "chat_app":
        found = _chat_app_search(db, shop, query)
    else:
        found = search(
            db, query, "returns.example", k=5, hybrid=how == "hybrid", settings=get_settings()
        )
    assert [r["url"] for r in found][:2] == [
        f"curated:{row['id']}",
        "https://returns.example/returns",
    ]
    assert ANSWER in found[0]["chunk"] and found[0]["title"] == QUESTION


def test_editing_re_embeds_only_that_answer_and_deleting_removes_it_from_search(
    db, shop, openai_env
):
    row, job_id, _ = _add(db, shop)
    other, other_job, _ = _add(db, shop, "Do you ship to Norway?", "Yes, in 5 working days.")
    _embed(db, job_id)
    _embed(db, other_job)
    before = {r["id"]: r["page_id"] for r in db.execute("SELECT id, page_id FROM page_embeddings")}
    openai_env.clear()

    with db.transaction():
        knowledge.edit(db, row["id"], None, "Yes, within 60 days now, opened or not.")
        job_id, result = knowledge.sync_job(db, shop["id"])
    page = db.execute(
        "SELECT id FROM scraped_pages WHERE url = %s", (f"curated:{row['id']}",)
    ).fetchone()["id"]
    assert result["page_ids"] == [str(page)]  # only the edited answer's page
    stats = _embed(db, job_id)
    assert stats["chunks_embedded"] == 1 and stats["chunks_deleted"] == 1
    after = {r["id"]: r["page_id"] for r in db.execute("SELECT id, page_id FROM page_embeddings")}
    assert {k: v for k, v in before.items() if v != page} == {
        k: v for k, v in after.items() if v != page
    }
    assert [r.body["input"] for r in openai_env.embedding_requests()] in ([[QUESTION]], [QUESTION])
    found = search(db, QUESTION, "returns.example", k=5, settings=get_settings())
    assert "60 days" in found[0]["chunk"]

    with db.transaction():  # an edit that changes nothing queues nothing
        assert knowledge.sync_job(db, shop["id"])[0] is None

    with db.transaction():
        knowledge.remove(db, row["id"])
    urls = [r["url"] for r in search(db, QUESTION, "returns.example", k=5, settings=get_settings())]
    assert f"curated:{row['id']}" not in urls and "https://returns.example/returns" in urls
    assert (
        db.execute(
            "SELECT count(*) AS n FROM page_embeddings WHERE page_id = %s", (page,)
        ).fetchone()["n"]
        == 0
    )


def test_a_row_deleted_by_another_client_leaves_search_and_a_disabled_one_is_unsynced(db, shop):
    row, job_id, _ = _add(db, shop)
    _embed(db, job_id)
    db.execute("DELETE FROM training_data WHERE id = %s", (row["id"],))  # the chat app's delete
    assert (
        db.execute("SELECT count(*) AS n FROM scraped_pages WHERE url LIKE 'curated:%'").fetchone()[
            "n"
        ]
        == 0
    )
    kept, job_id, _ = _add(db, shop, "Gift wrap?", "Yes, for 2 EUR.")
    _embed(db, job_id)
    db.execute("UPDATE training_data SET status = 'disabled' WHERE id = %s", (kept["id"],))
    with db.transaction():
        _, result = knowledge.sync_job(db, shop["id"])
    assert result["removed"] == 1
    assert [r["question"] for r in knowledge.list_answers(db)] == ["Gift wrap?"]


def test_a_text_row_is_chunked_and_embedded_like_a_page(db, shop, openai_env):
    text = "On Sundays the shop is closed.\n\n" + long_page("warranty", paragraphs=12)
    with db.transaction():
        row = knowledge.add(db, shop, "Store hours and warranty", text, kind="text")
        job_id, _ = knowledge.sync_job(db, shop["id"])
    openai_env.clear()
    chunks = _embed(db, job_id)["chunks_embedded"]
    assert chunks > 1  # chunked like a long page
    # each chunk embedded by its own text, as a page's are (a qa row's by its question)
    inputs = [i for r in openai_env.embedding_requests() for i in _inputs(r.body["input"])]
    assert len(inputs) == len(set(inputs)) == chunks
    assert any("Sundays" in i for i in inputs) and "Store hours and warranty" not in inputs
    assert knowledge.get(db, row["id"])["status"] == "completed"
    found = search(db, "warranty service details", "returns.example", k=3, settings=get_settings())
    assert found[0]["url"] == f"curated:{row['id']}" and "warranty" in found[0]["chunk"]


def _inputs(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _keyword(db, domain, keyword: str) -> list[str]:
    return [
        r["url"]
        for r in db.execute(
            "SELECT url FROM search_pages_by_keyword(%s, %s, 10)", (domain["id"], keyword)
        )
    ]


def test_the_chat_apps_keyword_search_lists_a_curated_answer_before_crawled_pages(db, shop):
    """search_pages_by_keyword (0121): the crawled page matches in its title, the curated answer
    only in its text, and the curated answer still comes first."""
    crawled = "https://returns.example/returns"
    db.execute(
        "INSERT INTO website_content (domain_id, url, title, content) VALUES (%s, %s, %s, %s)",
        (shop["id"], crawled, "Refunds and returns", CRAWLED),
    )
    assert _keyword(db, shop, "refund") == [crawled]
    row, _, _ = _add(db, shop)
    curated = f"curated:{row['id']}"
    assert _keyword(db, shop, "REFUND") == [curated, crawled]
    assert _keyword(db, shop, "after opening") == [curated, crawled]  # its question
    assert _keyword(db, shop, "curated") == []  # not by its made-up URL
    db.execute("UPDATE training_data SET status = 'disabled' WHERE id = %s", (row["id"],))
    assert _keyword(db, shop, "refund") == [crawled]  # before the next sync removes its page
    db.execute("UPDATE training_data SET status = 'completed' WHERE id = %s", (row["id"],))
    with db.transaction():
        knowledge.remove(db, row["id"])
    assert _keyword(db, shop, "refund") == [crawled]


@pytest.mark.parametrize(
    "kind, question, answer, message",
    [
        ("faq", "q", "a", "unknown type"),
        ("qa", "  ", "a", "question"),
        ("qa", "q", "", "answer"),
        ("qa", "q", "x" * 20_001, "at most"),
    ],
)
def test_check_answer(kind, question, answer, message):
    with pytest.raises(ValueError, match=message):
        knowledge.check_answer(kind, question, answer)

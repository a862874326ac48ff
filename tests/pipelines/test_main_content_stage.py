"""The main-content stage against the real test database: computed once per page version and
stored (type, text, Markdown, facts), website_content left as it is when the knowledge is the
same, nothing-found recorded; and the jobs after it read what it stored."""

from __future__ import annotations

import signal
import threading

import pytest
import xxhash

from content import template as site_template
from core.config import get_settings
from db import site_templates
from pipelines.main_content_stage import store_main_content
from tests.content.test_main_content import SHOP
from workers.optimize_job import run_optimize

WALKER_TEXT = "Home Shop Blog Contact We use cookies Forge Anvil 50 kg"


def page_row(db, page_id):
    return db.execute(
        "SELECT p.content, p.metadata, w.content AS wc_content, w.content_type, "
        "w.metadata AS wc_metadata, w.updated_at "
        "FROM scraped_pages p JOIN website_content w USING (domain_id, url) "
        "WHERE p.id = %s",
        (page_id,),
    ).fetchone()


def test_main_content_is_stored_once_per_version(db, domain, add_html_page, make_job):
    digest = xxhash.xxh3_128_hexdigest(WALKER_TEXT.encode())
    page_id = add_html_page(
        "product/anvil", SHOP, content=WALKER_TEXT, metadata={"content_hash": digest}
    )
    # the crawl learned that this FAQ question is on most of the site's pages
    template = site_template.SiteTemplate()
    for i in range(10):
        template.observe(["Can I return it?", f"other page {i} with its own words"])
    site_templates.save(db, domain["id"], template)

    result = store_main_content(db, domain["id"])
    assert result.changed == [page_id] and result.unchanged == [] and result.failed == 0
    row = page_row(db, page_id)
    for kept in ("Forge Anvil 50 kg", "£349.00", "In stock", "Drop-forged steel", "hardwood stump"):
        assert kept in row["content"] and kept in row["wc_content"]
    for dropped in ("cookies", "Home", "Can I return it?"):
        assert dropped not in row["content"]
    assert row["content_type"] == "product"
    assert row["metadata"]["main_content"] == digest
    assert row["metadata"]["markdown"].startswith("# Forge Anvil 50 kg")
    assert row["wc_metadata"]["markdown"] == row["metadata"]["markdown"]

    # done for this version: a second run (a redelivery, a later crawl) computes nothing
    assert store_main_content(db, domain["id"]).changed == []
    # the optimize job reads the stored text; it does not compute it
    stats = run_optimize(db, make_job("optimize", [page_id]), get_settings())
    assert stats["optimize_pages"] == 1 and "main_content_pages" not in stats
    assert page_row(db, page_id)["updated_at"] == row["updated_at"]


def test_a_new_version_with_the_same_knowledge_rewrites_nothing(db, domain, add_html_page):
    page_id = add_html_page("product/anvil", SHOP, metadata={"content_hash": "a" * 32})
    assert store_main_content(db, domain["id"]).changed == [page_id]
    before = page_row(db, page_id)
    # the crawl stored a new version (new fingerprint) whose main content is the same
    db.execute(
        "UPDATE scraped_pages SET content = 'walker text', metadata = "
        "jsonb_build_object('content_hash', 'b' || repeat('0', 31)) WHERE id = %s",
        (page_id,),
    )
    result = store_main_content(db, domain["id"])
    assert result.unchanged == [page_id] and result.changed == []
    after = page_row(db, page_id)
    assert (
        after["updated_at"] == before["updated_at"] and after["wc_content"] == before["wc_content"]
    )
    assert after["content"] == before["content"]  # the fast pass's text replaced again
    assert after["metadata"]["main_content"] == "b" + "0" * 31


def test_pages_without_a_fingerprint_or_html_are_left_alone(db, domain, add_html_page):
    no_hash = add_html_page("plain", SHOP, content="kept as is")
    no_html = add_html_page(
        "nohtml", None, content="text only", metadata={"content_hash": "0" * 32}
    )
    assert page_row(db, no_html)["content"] == "text only"
    result = store_main_content(db, domain["id"])
    assert result.changed == result.unchanged == []
    assert page_row(db, no_hash)["content"] == "kept as is"


def test_a_page_without_main_content_keeps_its_text_and_records_why(db, domain, add_html_page):
    page_id = add_html_page(
        "empty",
        "<html><body></body></html>",
        content="fast pass text",
        metadata={"content_hash": "1" * 32},
    )
    result = store_main_content(db, domain["id"])
    assert result.failed == 1
    row = page_row(db, page_id)
    assert row["content"] == "fast pass text" == row["wc_content"]
    assert row["metadata"]["main_content"] == "1" * 32
    assert row["metadata"]["main_content_error"] == "no main content found"


SENT: list[tuple[str, str]] = []


def record_send(job_id: str, job_type: str) -> None:
    SENT.append((job_id, job_type))


def test_a_crawl_killed_after_the_stage_has_its_pages_queued_by_the_next_crawl(
    db, domain, add_html_page
):
    """The stage stored a page's new knowledge, then the crawl died before its jobs were
    created: the page is marked, and the next crawl's enqueue queues it (and only once)."""
    from scrapy.utils.misc import build_from_crawler  # noqa: PLC0415 - only this test builds one

    from pipelines.enqueue import EnqueuePipeline  # noqa: PLC0415 - as above
    from tests.support.crawler import site_crawler  # noqa: PLC0415 - as above

    page_id = add_html_page("product/anvil", SHOP, metadata={"content_hash": "c" * 32})
    assert store_main_content(db, domain["id"]).changed == [page_id]
    assert page_row(db, page_id)["metadata"]["jobs_pending"] == "c" * 32
    # ... the crawl process is killed here: no job rows

    SENT.clear()
    for _ in range(2):  # the next crawl (nothing changed on the site), then one more
        crawler = site_crawler(domain["domain"], OMNI_JOB_SENDER=f"{__name__}.record_send")
        build_from_crawler(EnqueuePipeline, crawler).spider_closed(crawler.spider)
    rows = db.execute(
        "SELECT job_type, metadata->'page_ids' AS ids FROM content_refresh_jobs "
        "WHERE domain_id = %s ORDER BY job_type",
        (domain["id"],),
    ).fetchall()
    assert [(r["job_type"], r["ids"]) for r in rows] == [
        (kind, [page_id]) for kind in sorted(("extract", "optimize", "embed"))
    ]
    assert len(SENT) == 3
    assert "jobs_pending" not in page_row(db, page_id)["metadata"]


def test_a_page_a_dead_crawl_left_without_main_content_is_done_by_the_next_one(
    db, domain, add_html_page
):
    """Stored as new, the crawl killed before the stage; the next crawl got a 304 for it (its
    change is now "unchanged"), and still computes its main content. A duplicate is left."""
    left = add_html_page(
        "product/anvil", SHOP, metadata={"content_hash": "d" * 32, "change": "unchanged"}
    )
    duplicate = add_html_page("product/anvil-copy", SHOP, metadata={"content_hash": "e" * 32})
    db.execute("UPDATE scraped_pages SET status = 'duplicate' WHERE id = %s", (duplicate,))
    result = store_main_content(db, domain["id"])
    assert result.changed == [left] and result.unchanged == []
    assert "main_content" not in page_row(db, duplicate)["metadata"]


def test_a_stop_ends_the_stage_between_pages_and_the_next_run_does_the_rest(
    db, domain, add_html_page
):
    pages = [
        add_html_page(f"product/{n}", SHOP, metadata={"content_hash": f"{n}" * 32})
        for n in range(3)
    ]
    asked: list[int] = []

    def stop_after_one() -> bool:
        asked.append(1)
        return len(asked) > 1

    result = store_main_content(db, domain["id"], stop_requested=stop_after_one)
    assert result.stopped and len(result.changed) == 1
    rest = store_main_content(db, domain["id"])
    assert not rest.stopped and sorted(result.changed + rest.changed) == sorted(pages)


def test_a_stopped_crawl_leaves_the_stage_and_its_jobs_to_the_next_attempt(
    db, domain, add_html_page
):
    """A crawl stopped (SIGTERM: Scrapy closes it with reason "shutdown", or the signal comes
    while it closes) runs no stage and creates no job, so it ends within its grace; a crawl
    that had finished records why it must not complete. The retry does both."""
    from scrapy.utils.misc import build_from_crawler  # noqa: PLC0415 - only these tests build one

    from crawlers.state import state_of  # noqa: PLC0415 - as above
    from pipelines.enqueue import EnqueuePipeline  # noqa: PLC0415 - as above
    from tests.support.crawler import site_crawler  # noqa: PLC0415 - as above

    page_id = add_html_page("product/anvil", SHOP, metadata={"content_hash": "f" * 32})

    def job_rows() -> int:
        query = "SELECT count(*) AS n FROM content_refresh_jobs WHERE domain_id = %s"
        return db.execute(query, (domain["id"],)).fetchone()["n"]

    for reason, stop_noted, error in [
        ("shutdown", False, []),
        ("finished", True, ["stopped before the main-content stage"]),
    ]:
        crawler = site_crawler(domain["domain"], OMNI_JOB_SENDER=f"{__name__}.record_send")
        pipeline = build_from_crawler(EnqueuePipeline, crawler)
        pipeline.stop_requested = stop_noted
        pipeline.spider_closed(crawler.spider, reason)
        assert state_of(crawler.spider).errors == error
        assert job_rows() == 0 and "main_content" not in page_row(db, page_id)["metadata"]

    crawler = site_crawler(domain["domain"], OMNI_JOB_SENDER=f"{__name__}.record_send")
    build_from_crawler(EnqueuePipeline, crawler).spider_closed(crawler.spider, "finished")
    assert job_rows() == 3 and page_row(db, page_id)["metadata"]["main_content"] == "f" * 32


def test_the_enqueue_step_notes_a_stop_and_hands_the_signal_on(domain) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can only be set from the main thread")
    from scrapy.utils.misc import build_from_crawler  # noqa: PLC0415 - only these tests build one

    from pipelines.enqueue import EnqueuePipeline  # noqa: PLC0415 - as above
    from tests.support.crawler import site_crawler  # noqa: PLC0415 - as above

    received: list[int] = []

    def scrapys_handler(number: int, frame: object) -> None:
        received.append(number)

    before = signal.signal(signal.SIGTERM, scrapys_handler)
    try:
        pipeline = build_from_crawler(EnqueuePipeline, site_crawler(domain["domain"]))
        pipeline._watch_for_a_stop()
        assert signal.getsignal(signal.SIGTERM) is not scrapys_handler
        signal.raise_signal(signal.SIGTERM)
        assert pipeline.stop_requested and received == [signal.SIGTERM]
        pipeline._stop_watching()
        assert signal.getsignal(signal.SIGTERM) is scrapys_handler
    finally:
        signal.signal(signal.SIGTERM, before)

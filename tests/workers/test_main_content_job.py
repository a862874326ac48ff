"""The workers' main-content step: computed once per page version, before a job reads the page,
against the real test database."""

from __future__ import annotations

import xxhash

from core.config import get_settings
from pipelines import template as site_template
from tests.pipelines.test_main_content import SHOP
from workers.extract_job import run_extract
from workers.optimize_job import run_optimize

WALKER_TEXT = "Home Shop Blog Contact We use cookies Forge Anvil 50 kg"


def page_row(db, page_id):
    return db.execute("SELECT p.content, p.metadata, w.content AS wc_content, w.updated_at "
                      "FROM scraped_pages p JOIN website_content w USING (domain_id, url) "
                      "WHERE p.id = %s", (page_id,)).fetchone()


def test_main_content_replaces_the_fast_pass_once_per_version(db, domain, add_html_page, make_job):
    digest = xxhash.xxh3_128_hexdigest(WALKER_TEXT.encode())
    page_id = add_html_page("anvil", SHOP, content=WALKER_TEXT, metadata={"content_hash": digest})
    # the crawl learned that this FAQ question is on most of the site's pages
    template = site_template.SiteTemplate()
    for i in range(10):
        template.observe(["Can I return it?", f"other page {i} with its own words"])
    site_template.save(db, domain["id"], template)

    stats = run_extract(db, make_job("extract", [page_id]))
    assert stats["main_content_pages"] == 1
    row = page_row(db, page_id)
    for kept in ("Forge Anvil 50 kg", "£349.00", "In stock", "Drop-forged steel", "hardwood stump"):
        assert kept in row["content"] and kept in row["wc_content"]
    for dropped in ("cookies", "Home", "Can I return it?"):
        assert dropped not in row["content"]
    assert row["metadata"]["main_content"] == digest
    assert row["metadata"]["markdown"].startswith("# Forge Anvil 50 kg")

    # the optimize (or embed) job of the same batch finds it done
    stats = run_optimize(db, make_job("optimize", [page_id]), get_settings())
    assert stats["main_content_pages"] == 0
    assert page_row(db, page_id)["updated_at"] == row["updated_at"]


def test_pages_without_a_fingerprint_or_html_are_left_alone(db, add_html_page, make_job):
    no_hash = add_html_page("plain", SHOP, content="kept as is")
    no_html = add_html_page("nohtml", None, content="text only",
                       metadata={"content_hash": "0" * 32})
    stats = run_extract(db, make_job("extract", [no_hash, no_html]))
    assert stats["main_content_pages"] == 0
    assert page_row(db, no_hash)["content"] == "kept as is"


def test_a_page_without_main_content_keeps_its_text_and_records_why(db, add_html_page, make_job):
    page_id = add_html_page("empty", "<html><body></body></html>", content="fast pass text",
                       metadata={"content_hash": "1" * 32})
    stats = run_extract(db, make_job("extract", [page_id]))
    assert stats["main_content_pages"] == 0
    row = page_row(db, page_id)
    assert row["content"] == "fast pass text"
    assert row["metadata"]["main_content"] == "1" * 32
    assert row["metadata"]["main_content_error"] == "no main content found"

"""run_extract against the real test database."""

from __future__ import annotations

import pytest

from db import jobs
from db.connection import connect
from db.tenants import add_domain
from tests.support.extract_fixtures import page_html
from workers.errors import PermanentError
from workers.extract_job import run_extract

SITE = [
    "woo_product.html",
    "shopify_product.html",
    "jsonld_product.html",
    "microdata_product.html",
    "rdfa_og_product.html",
    "faq_jsonld.html",
    "faq_headings.html",
    "contact.html",
]


def _rows(db, extract_type=None):
    sql = (
        "SELECT url, extract_type, extracted_data, schema_used, confidence_score "
        "FROM structured_extractions"
    )
    rows = db.execute(sql + " ORDER BY url, extract_type, extracted_data->>'position'").fetchall()
    return [r for r in rows if extract_type in (None, r["extract_type"])]


def test_extracts_products_prices_faqs_and_contacts_from_the_site(db, add_html_page, make_job):
    ids = [add_html_page(name, page_html(name)) for name in SITE]
    stats = run_extract(db, make_job("extract", ids))

    assert stats["extract_pages"] == len(SITE)
    products = {r["extracted_data"]["sku"]: r["extracted_data"] for r in _rows(db, "product")}
    assert {sku: (p["price"], p["currency"]) for sku, p in products.items()} == {
        "BL-DRIP-02": ("24.50", "GBP"),
        "NK-BEANIE-GRY": ("29.00", "CAD"),
        "SO-TR3-BLK-M": ("149.95", "EUR"),
        "HH-SKL-26": ("39.99", "USD"),
        "LT-APRON-1": ("34.00", "GBP"),
    }
    faqs = [r["extracted_data"]["question"] for r in _rows(db, "faq")]
    assert "Do you ship internationally?" in faqs and "How do I track my order?" in faqs
    assert len(faqs) == 3 + 4
    contact = {r["url"]: r["extracted_data"] for r in _rows(db, "contact")}
    assert contact["https://shop.test/contact.html"]["phones"] == ["+441614960000", "+447700900123"]
    assert stats["products"] == 5 and stats["faqs"] == 7 and stats["contacts"] == len(contact)
    for row in _rows(db):
        assert row["schema_used"] and 0 < row["confidence_score"] <= 1


def test_running_the_same_job_twice_leaves_the_same_rows(db, add_html_page, make_job):
    ids = [add_html_page(name, page_html(name)) for name in SITE]
    job = make_job("extract", ids)
    run_extract(db, job)
    first = [(r["url"], r["extract_type"], r["extracted_data"]) for r in _rows(db)]
    run_extract(db, job)
    again = [(r["url"], r["extract_type"], r["extracted_data"]) for r in _rows(db)]
    assert again == first
    assert db.execute("SELECT count(*) AS n FROM domain_patterns").fetchone()["n"] == 4


def test_changed_page_replaces_its_rows(db, add_html_page, make_job):
    page_id = add_html_page("faq", page_html("faq_jsonld.html"))
    run_extract(db, make_job("extract", [page_id]))
    assert len(_rows(db, "faq")) == 3
    add_html_page("faq", "<html><body><h2>How do I pay?</h2><p>By card.</p></body></html>")
    run_extract(db, make_job("extract", [page_id]))
    assert [r["extracted_data"]["question"] for r in _rows(db, "faq")] == ["How do I pay?"]


def test_domain_learns_its_platform_and_the_next_page_reuses_the_selectors(
    db, add_html_page, make_job
):
    first = add_html_page("product/dripper", page_html("woo_product.html"))
    run_extract(db, make_job("extract", [first]))
    pattern = db.execute("SELECT * FROM domain_patterns WHERE pattern_type = 'platform'").fetchone()
    assert pattern["platform"] == "woocommerce" and pattern["success_count"] == 1
    assert pattern["selectors"]["fields"]["sku"] == ".sku_wrapper .sku"
    first_row = _rows(db, "product")[0]
    assert first_row["schema_used"]["learned"] is False

    second = add_html_page("product/grinder", page_html("woo_product2.html"))
    stats = run_extract(db, make_job("extract", [second]))
    row = next(r for r in _rows(db, "product") if r["url"].endswith("grinder"))
    assert (
        row["extracted_data"]["sku"] == "BL-GRIND-01"
        and row["extracted_data"]["price"] == "1049.00"
    )
    assert row["schema_used"]["learned"] is True
    assert stats["platform"] == "woocommerce"
    pattern = db.execute("SELECT * FROM domain_patterns WHERE pattern_type = 'platform'").fetchone()
    assert pattern["success_count"] == 2 and pattern["confidence"] == pytest.approx(0.75)


def test_learned_platform_survives_a_page_without_signals(db, add_html_page, make_job):
    run_extract(db, make_job("extract", [add_html_page("p1", page_html("woo_product.html"))]))
    run_extract(
        db,
        make_job("extract", [add_html_page("about", "<html><body><p>About us</p></body></html>")]),
    )
    assert (
        db.execute(
            "SELECT platform FROM domain_patterns WHERE pattern_type = 'platform'"
        ).fetchone()["platform"]
        == "woocommerce"
    )


def test_pages_without_html_are_counted_and_skipped(db, add_html_page, make_job):
    empty = add_html_page("pdf-page", None, content="some text")
    ok = add_html_page("faq", page_html("faq_jsonld.html"))
    stats = run_extract(db, make_job("extract", [empty, ok]))
    assert (stats["extract_pages"], stats["extract_skipped_no_html"]) == (1, 1)


@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {"page_ids": "abc"},
        {"page_ids": [1, 2]},
        {"page_ids": ["not-a-uuid"]},
        {"page_ids": ["00000000-0000-0000-0000-000000000000"]},
    ],
)
def test_bad_or_missing_pages_are_permanent_errors(db, domain, metadata):

    job = jobs.start(db, jobs.create(db, domain["id"], "extract", metadata))
    with pytest.raises(PermanentError):
        run_extract(db, job)


def test_a_page_of_another_domain_fails_the_job_and_touches_nothing(db, add_html_page, make_job):

    other = add_domain(db, "other.test")
    page = db.execute(
        "INSERT INTO scraped_pages (domain_id, url, html) VALUES (%s, 'https://other.test/', %s) "
        "RETURNING id::text AS id",
        (other["id"], page_html("faq_jsonld.html")),
    ).fetchone()["id"]
    mine = add_html_page("faq", page_html("faq_jsonld.html"))
    with pytest.raises(PermanentError, match="names 1 page\\(s\\) of another domain"):
        run_extract(db, make_job("extract", [page, mine]))
    assert _rows(db) == []


def test_a_deleted_page_is_skipped_and_counted(db, add_html_page, make_job):
    mine = add_html_page("faq", page_html("faq_jsonld.html"))
    stats = run_extract(db, make_job("extract", ["00000000-0000-4000-8000-000000000000", mine]))
    assert stats["extract_missing_pages"] == 1
    assert {r["url"] for r in _rows(db)} == {"https://shop.test/faq"}


def test_with_a_pooled_style_connection_rows_are_committed(db, add_html_page, make_job):

    ids = [add_html_page(name, page_html(name)) for name in ("woo_product.html", "faq_jsonld.html")]
    job = make_job("extract", ids)
    with connect() as conn:
        run_extract(conn, job)
        conn.rollback()  # nothing left uncommitted: each page was committed as it was done
    # a product and 3 FAQs (the footer address is at beanleaf.test, reserved and not this site's)
    assert len(_rows(db)) == 1 + 3

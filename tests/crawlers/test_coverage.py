"""Coverage without traps, and a re-crawl that costs only what changed: the real spider (in a
subprocess) against generated sites shaped like real shops and blogs (tests/support/shop_site)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from db import tenants
from tests.support.crawl_fixtures import crawl_ok
from tests.support.shop_site import Site, blog, numbered_shop, shop


@pytest.fixture
def limits(db, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small trap bound (5), so a bound that cut catalogues would show."""
    monkeypatch.setenv("OMNI_CRAWL_PATTERN_LIMIT", "5")
    monkeypatch.setenv("OMNI_CRAWL_MAX_PAGES", "5000")
    monkeypatch.setenv("OMNI_CRAWL_MAX_DEPTH", "100")
    monkeypatch.setenv("OMNI_LOG_LEVEL", "WARNING")


def rows(db, site: Site) -> dict[str, dict]:
    prefix = f"http://{site.domain}"
    return {
        r["url"].removeprefix(prefix): r
        for r in db.execute("SELECT url, status, metadata, error_message FROM scraped_pages")
    }


def products(db, site: Site) -> list[str]:
    return [
        p
        for p, r in rows(db, site).items()
        if p.count("/") == 2 and p.startswith("/p/") and r["status"] == "scraped"
    ]


def test_a_500_product_shop_with_numeric_ids_and_no_sitemap_is_crawled_whole(
    limits, serve_site, db
):
    site = serve_site(shop(500, sitemap=False))
    stats = crawl_ok(site.domain)
    assert len(products(db, site)) == 500
    assert stats["trap_skipped"] == 0


def items(db, site: Site) -> list[str]:
    return [
        p for p, r in rows(db, site).items() if p.startswith("/p/") and r["status"] == "scraped"
    ]


def test_a_500_item_shop_whose_items_differ_only_in_numbers_is_stored_whole(limits, serve_site, db):
    """Half the items are in the sitemap, half only on the paginated listings; the items are
    leaves whose text differs only in numbers (the guard used to fold them into one page)."""
    site = serve_site(numbered_shop(500, sitemap_share=0.5))
    stats = crawl_ok(site.domain)
    assert len(items(db, site)) == 500
    assert stats["trap_skipped"] == 0 and stats["duplicate"] == 0
    # the guard saw every item as a leaf, and every listing as linking something new
    assert stats["trap_guard_leaf"] >= 500
    assert stats["trap_guard_new_text"] >= 20  # the 20 listings, the home page
    assert "trap_guard_copy" not in stats and "trap_guard_bounded_barren" not in stats


def test_a_2000_item_shop_with_paginated_listings_and_no_sitemap_is_stored_whole(
    limits, serve_site, db
):
    site = serve_site(numbered_shop(2000, per_listing=25, sitemap_share=0))
    stats = crawl_ok(site.domain)
    assert len(items(db, site)) == 2000
    assert len([p for p in rows(db, site) if p.startswith("/shop/page/")]) == 80
    assert stats["trap_skipped"] == 0
    assert stats["trap_guard_leaf"] >= 2000 and stats["trap_guard_new_text"] >= 80
    assert "trap_guard_bounded_chain" not in stats and "trap_guard_bounded_barren" not in stats


def test_a_numbered_blog_archive_without_sitemap_is_crawled_whole(limits, serve_site, db):
    site = serve_site(blog(120, per_page=10))
    crawl_ok(site.domain)
    stored = rows(db, site)
    assert len([p for p in stored if p.startswith("/article/")]) == 120
    assert len([p for p in stored if p.startswith("/blog/page/")]) == 12


def test_an_endless_calendar_and_a_session_id_loop_are_still_bounded(limits, serve_site, db):
    site = serve_site(shop(30, sitemap=True, traps=True))
    stats = crawl_ok(site.domain)
    paths = [r.path for r in site.requests]
    events = [p for p in paths if p.startswith("/events/")]
    carts = [p for p in paths if p.startswith("/cart")]
    assert 3 <= len(events) <= 7 and 3 <= len(carts) <= 7, (events, carts)
    assert stats["trap_skipped"] >= 2
    # bounded because their pages kept linking new URLs and said nothing new
    assert stats["trap_guard_copy"] >= 4
    assert stats.get("trap_guard_bounded_chain", 0) + stats.get("trap_guard_bounded_barren", 0) >= 2
    assert len(products(db, site)) == 30


def test_every_url_met_is_remembered_and_the_recrawl_costs_only_what_changed(
    limits, serve_site, db
):
    site = serve_site(shop(60, sitemap=True))
    crawl_ok(site.domain)
    stored = rows(db, site)
    # duplicates (print views, sort orders) and redirects are remembered with their validators
    # and what they duplicate; dead links with a retry schedule
    print_view = stored["/p/1000/print"]
    assert print_view["status"] == "duplicate" and print_view["metadata"]["etag"]
    assert print_view["metadata"]["canonical_of"] == site.url("/p/1000")
    assert stored["/shop/page/1?sort=price"]["status"] == "duplicate"
    dead = stored["/p/1000/older-model"]
    assert dead["status"] == "failed" and dead["metadata"]["dead_count"] == 1
    assert datetime.fromisoformat(dead["metadata"]["next_check_at"]) > datetime.now(UTC)
    assert Counter(r.path for r in site.requests)["/robots.txt"] == 1
    assert not [r for r in site.requests if "utm_" in r.path]

    site.requests.clear()
    again = crawl_ok(site.domain)
    page_requests = site.page_requests()
    assert [r.path for r in page_requests if not r.conditional] == []
    assert {r.status for r in page_requests} == {304}
    assert not [r for r in page_requests if r.path.endswith("/older-model")]
    assert again["recheck_skipped"] == len([p for p in stored if p.endswith("/older-model")])
    # duplicates are asked last: those whose canonical page has answered 304 by then are not
    # asked at all, the few asked while their page was still in flight are asked conditionally
    duplicates = {p for p, r in stored.items() if r["status"] == "duplicate"}
    asked = {r.path for r in page_requests} & duplicates
    assert len(duplicates) >= 20
    assert again["duplicate_skipped"] + len(asked) == len(duplicates)
    assert again["duplicate_skipped"] >= len(duplicates) // 2
    assert Counter(r.path for r in site.requests)["/robots.txt"] == 1
    assert again["new"] == again["changed"] == 0
    assert rows(db, site)["/p/1000/print"]["status"] == "duplicate"


def test_sitemap_lastmod_orders_a_budget_limited_crawl(limits, serve_site, db):

    site = serve_site(shop(40, sitemap=True, lastmod="2020-01-01"))
    crawl_ok(site.domain)
    # three products change and say so in the sitemap; the budget covers little more than them
    changed = ["/p/1031", "/p/1017", "/p/1005"]
    for path in changed:
        site.pages[path] = site.pages[path].replace(b"made to last", b"made to last, now in blue")
    site.sitemap = [(p, "2099-01-01" if p in changed else m) for p, m in site.sitemap]
    tenants.add_domain(db, site.domain, max_pages=4)
    site.requests.clear()
    stats = crawl_ok(site.domain)
    assert stats["changed"] == 3
    assert set(changed) <= {r.path for r in site.page_requests()}


def test_a_linked_file_that_is_not_a_page_is_asked_conditionally_on_the_recrawl(
    limits, serve_site, db
):
    site = shop(10, sitemap=False)
    site.pages["/about"] = site.pages["/about"].replace(
        b"</main>", b"<a href='/downloads/example.py'>example.py</a></main>"
    )
    site.files["/downloads/example.py"] = (b"print('hello')\n" * 500, "text/x-python")
    serve_site(site)
    crawl_ok(site.domain)
    row = rows(db, site)["/downloads/example.py"]
    assert row["status"] == "failed" and row["error_message"] == "not HTML: text/x-python"
    assert row["metadata"]["etag"]
    site.requests.clear()
    again = crawl_ok(site.domain)
    asked = [r for r in site.requests if r.path == "/downloads/example.py"]
    assert [(r.conditional, r.status, r.bytes) for r in asked] == [(True, 304, 0)]
    row = rows(db, site)["/downloads/example.py"]
    assert row["status"] == "failed" and row["error_message"] == "not HTML: text/x-python"
    assert again["failed"] == 0 and again["new"] == again["changed"] == 0

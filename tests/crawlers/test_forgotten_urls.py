"""`omni domain forget`: the pages leave the knowledge (everything derived from them too) and
the next crawl does not ask for them, though the site still links to them."""

from __future__ import annotations

from db import tenants
from tests.support.crawl_fixtures import crawl_ok


def test_forgotten_pages_leave_the_knowledge_and_future_crawls(site, db, omni_cli):

    tenants.add_domain(db, site.domain)
    crawl_ok(site.domain)
    product_urls = [site.url(f"/products/{n}") for n in (1, 2, 3)]
    stored = {
        r["url"] for r in db.execute("SELECT url FROM scraped_pages WHERE status = 'scraped'")
    }
    assert set(product_urls) <= stored and site.url("/about") in stored
    db.execute(
        "INSERT INTO website_content (domain_id, url, content) SELECT domain_id, url, content "
        "FROM scraped_pages WHERE url = ANY(%s) ON CONFLICT DO NOTHING",
        (product_urls,),
    )

    done = omni_cli("domain", "forget", site.domain, "/products/*", "--reason", "discontinued")
    assert done.returncode == 0, done.stderr
    assert "forgot 3 page(s)" in done.stdout
    for table in ("scraped_pages", "website_content"):
        left = db.execute(
            f"SELECT count(*) AS n FROM {table} WHERE url LIKE %s", (site.url("/products/") + "%",)
        ).fetchone()
        assert left["n"] == 0, table
    assert (
        db.execute(
            "SELECT count(*) AS n FROM page_content_references WHERE source_url = ANY(%s)",
            (product_urls,),
        ).fetchone()["n"]
        == 0
    )
    [entry] = tenants.get_domain(db, site.domain)["config"]["forget"]
    assert (entry["pattern"], entry["reason"], entry["pages"]) == ("/products/*", "discontinued", 3)

    site.requests.clear()
    stats = crawl_ok(site.domain)
    assert not [r for r in site.page_requests() if r.path.startswith("/products/")]
    assert stats.get("forgotten_skipped", 0) >= 1, stats
    assert (
        db.execute(
            "SELECT count(*) AS n FROM scraped_pages WHERE url LIKE %s",
            (site.url("/products/") + "%",),
        ).fetchone()["n"]
        == 0
    )
    assert site.url("/about") in {r["url"] for r in db.execute("SELECT url FROM scraped_pages")}

    bad = omni_cli("domain", "forget", site.domain, "/*")
    assert bad.returncode == 1 and "whole site" in bad.stderr

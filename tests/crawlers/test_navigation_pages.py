"""Navigation pages are crawled and their links followed, but stored as what they are (the real
spider in a subprocess): an index recognised by its structure, and pages the domain's exclude
pattern names (`omni domain add --exclude`)."""

from __future__ import annotations

from db import tenants
from tests.support.crawl_fixtures import crawl_ok
from tests.support.shop_site import Site, html

PROSE = "<p>" + "The wave module reads and writes WAV sound files, frame by frame. " * 10 + "</p>"


def docs_site() -> Site:
    entries = "".join(
        f"<li><a href='/library/m{i}.html'>m{i}() (built-in function)</a></li>" for i in range(40)
    )
    pages = {
        "/": html(
            "Docs",
            "<h1>Docs</h1><a href='/genindex-A.html'>Index</a><a href='/search.html'>Search</a>",
        ),
        # an index of names: the only way to the library pages
        "/genindex-A.html": html("Index A", f"<h1>Index – A</h1><ul>{entries}</ul>"),
        "/search.html": html("Search", f"<h1>Search</h1>{PROSE}"),
    }
    for i in range(40):
        pages[f"/library/m{i}.html"] = html(f"m{i}", f"<h1>m{i}</h1>{PROSE}<p>Module {i}.</p>")
    return Site(pages=pages)


def test_an_index_is_crawled_and_followed_but_not_content_and_excluded_urls_are_marked(
    db, serve_site, monkeypatch
):
    monkeypatch.setenv("OMNI_LOG_LEVEL", "WARNING")
    site = serve_site(docs_site())
    tenants.add_domain(db, site.domain, exclude=["/search*"])
    crawl_ok(site.domain)
    stored = {
        r["url"].removeprefix(site.url("")): r["metadata"]
        for r in db.execute("SELECT url, metadata FROM scraped_pages WHERE status = 'scraped'")
    }
    assert len([p for p in stored if p.startswith("/library/")]) == 40  # its links were followed
    index = stored["/genindex-A.html"]
    assert (index["structure"], index["page_kind"]) == ("navigation", "navigation")
    search = stored["/search.html"]
    assert (search["structure"], search["page_kind"], search["excluded_by"]) == (
        "content",
        "excluded",
        "exclude /search*",
    )
    assert {stored[f"/library/m{i}.html"]["page_kind"] for i in range(40)} == {"content"}

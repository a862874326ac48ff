"""Forgetting, safely: the real spider (in a subprocess) re-crawling a site whose pages die,
fail, move and come back. A page leaves search only once its death is confirmed by the re-check
after the back-off; a single failed fetch changes nothing; a page that comes back is ingested
again (docs/crawling.md, "Forgetting")."""

from __future__ import annotations

import pytest

from tests.support.crawl_fixtures import crawl_ok
from tests.support.knowledge import give_knowledge, knowledge, searched_urls
from tests.support.shop_site import Site, html

PAGES = {
    "/wave": "The wave module reads and writes WAV sound files.",
    "/flaky": "The audioop module manipulates raw audio data.",
    "/old-offer": "Our summer offer: two tents for the price of one.",
    "/moved": "Opening hours: nine to five, Monday to Friday.",
    "/shop/tents/": "All our tents.",
    "/shop/tents/blue": "The blue tent sleeps four.",
}
NONE = {"embeddings": 0, "website_content": 0, "optimized": 0, "extractions": 0}


def site_pages() -> dict[str, bytes]:
    pages = {
        path: html(path.strip("/") or "home", f"<h1>{path}</h1><p>{text}</p>")
        for path, text in PAGES.items()
    }
    pages["/"] = html(
        "Home", "<h1>Home</h1><p>Welcome.</p>" + "".join(f"<a href='{p}'>{p}</a>" for p in PAGES)
    )
    return pages


@pytest.fixture
def env(db, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNI_LOG_LEVEL", "WARNING")


def page(db, site: Site, path: str) -> dict:
    return db.execute(
        "SELECT id, status, metadata FROM scraped_pages WHERE url = %s", (site.url(path),)
    ).fetchone()


def make_due(db, site: Site, *paths: str) -> None:
    """The back-off has passed (a day, then a week): the next crawl asks these again."""
    db.execute(
        "UPDATE scraped_pages SET metadata = metadata || "
        '\'{"next_check_at": "2000-01-01T00:00:00+00:00"}\' WHERE url = ANY(%s)',
        ([site.url(p) for p in paths],),
    )


def test_a_page_leaves_search_only_when_its_death_is_confirmed_and_comes_back_when_it_does(
    env, serve_site, db
):
    site = serve_site(Site(pages=site_pages()))
    crawl_ok(site.domain)
    domain_id = db.execute("SELECT id FROM domains WHERE domain = %s", (site.domain,)).fetchone()[
        "id"
    ]
    for path in PAGES:
        give_knowledge(db, domain_id, site.url(path))
    full = knowledge(db, domain_id, site.url("/wave"))
    assert full["embeddings"] == 3 and full["website_content"] == 1

    # the first bad answers: a 404, a 500, a redirect to the home page, a redirect to a page
    # above it, and a page that moved to a new address
    wave = site.pages.pop("/wave")
    site.errors["/flaky"] = 503
    site.redirects["/old-offer"] = "/"
    site.redirects["/shop/tents/blue"] = "/shop/tents/"
    site.redirects["/moved"] = "/contact"
    site.pages["/contact"] = html(
        "Contact", "<h1>Contact</h1><p>Opening hours: nine to five, Monday to Saturday.</p>"
    )
    first = crawl_ok(site.domain)
    assert page(db, site, "/wave")["status"] == "gone"
    assert page(db, site, "/flaky")["status"] == "failed"
    for path in ("/wave", "/flaky", "/old-offer", "/shop/tents/blue"):
        assert knowledge(db, domain_id, site.url(path)) == full, path  # one answer deletes nothing
    assert site.url("/wave") in searched_urls(db, site.domain, site.url("/wave"))
    # the moved page's replacement is stored with its own content: the old address goes
    assert page(db, site, "/contact")["status"] == "scraped"
    assert knowledge(db, domain_id, site.url("/moved")) == NONE
    assert first["forgotten"] == 1 and first["forgotten_chunks"] == 3

    # the re-check after the back-off confirms it: gone for good; the 503 is still a 503
    make_due(db, site, "/wave", "/flaky", "/old-offer", "/shop/tents/blue")
    second = crawl_ok(site.domain)
    for path in ("/wave", "/old-offer", "/shop/tents/blue"):
        assert knowledge(db, domain_id, site.url(path)) == NONE, path
        assert page(db, site, path)["metadata"]["forgotten_reason"].endswith("on 2 checks in a row")
    assert site.url("/wave") not in searched_urls(db, site.domain, site.url("/wave"))
    assert knowledge(db, domain_id, site.url("/flaky")) == full
    assert second["forgotten"] == 3 and second["forgotten_chunks"] == 9
    assert (
        page(db, site, "/wave")["metadata"]["forgotten_reason"] == "HTTP 404 on 2 checks in a row"
    )

    # a third check forgets nothing more
    make_due(db, site, "/wave")
    assert crawl_ok(site.domain)["forgotten"] == 0

    # the page comes back: stored as new and handed to the workers again
    site.pages["/wave"] = wave
    make_due(db, site, "/wave")
    back = crawl_ok(site.domain)
    row = page(db, site, "/wave")
    assert row["status"] == "scraped" and row["metadata"]["change"] == "new"
    assert knowledge(db, domain_id, site.url("/wave"))["website_content"] == 1
    assert back["new"] >= 1
    queued = db.execute(
        "SELECT metadata FROM content_refresh_jobs WHERE job_type = 'embed' "
        "ORDER BY created_at DESC LIMIT 1"
    ).fetchone()["metadata"]["page_ids"]
    assert str(row["id"]) in queued

"""rel=canonical is a hint: a page whose canonical URL fails (404, 500, a redirect loop) or is
not to be asked (robots.txt, the page budget) is stored as itself, with its content, whether the
canonical failed before the page was fetched or after it had been stored as the canonical's
duplicate. A canonical that answers keeps its alias a duplicate. Crawled from 127.0.0.1 by the
real spider."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from scrapy import Request
from scrapy.exceptions import DontCloseSpider
from scrapy.http import HtmlResponse

from tests.support.crawl_fixtures import crawl_ok
from tests.support.crawler import site_crawler
from tests.support.testsite import TestSite, page, para

# alias -> (its canonical, what it says); the canonicals are not pages of the site except /ok
ALIASES = {
    "/a-print": ("/a", "Anvils are forged from one block of steel."),
    "/a-copy": ("/a", "Anvil horns are shaped for bending hot bars."),  # linked from /a-print
    "/b-print": ("/server-error", "Hammers come in five weights."),  # 500
    "/c-print": ("/loop-a", "Tongs hold the hot metal."),  # a redirect loop: no answer
    "/e-print": ("/private/e", "Bellows feed the fire."),  # robots.txt: Disallow: /private/
    "/ok-print": ("/ok", "Vices are bolted to the bench."),
}


def pages() -> dict[str, bytes]:
    site = {
        path: page(
            path,
            f"<h1>{path}</h1>{para(text)}"
            + ("<a href='/a-copy'>copy</a>" if path == "/a-print" else ""),
            extra_head=f'<link rel="canonical" href="{canonical}">',
        )
        for path, (canonical, text) in ALIASES.items()
    }
    site["/ok"] = page("/ok", f"<h1>/ok</h1>{para(ALIASES['/ok-print'][1])}")
    links = "".join(f"<a href='{path}'>{path}</a> " for path in ALIASES if path != "/a-copy")
    site["/"] = page("Forge", f"<h1>Forge</h1>{para('Tools of the forge.')}{links}")
    return site


def test_a_page_whose_canonical_fails_is_stored_as_itself(
    db, serve_pages: Callable[[dict[str, bytes]], TestSite]
):
    site = serve_pages(pages())
    stats = crawl_ok(site.domain)
    rows = {
        r["url"]: r
        for r in db.execute(
            "SELECT p.url, p.status, p.metadata->>'canonical_of' AS canonical_of, w.content "
            "FROM scraped_pages p LEFT JOIN website_content w "
            "ON w.domain_id = p.domain_id AND w.url = p.url"
        )
    }
    for path, (_, text) in ALIASES.items():
        row = rows[site.url(path)]
        if path == "/ok-print":
            assert (row["status"], row["canonical_of"]) == ("duplicate", site.url("/ok"))
            assert row["content"] is None
        else:
            assert row["status"] == "scraped", (path, row)
            assert text in row["content"], (path, row["content"])
    assert rows[site.url("/a")]["status"] == "failed"
    assert stats["duplicate"] == 1
    assert stats["canonical_failed"] == 5


def test_a_page_whose_canonical_is_never_asked_is_stored_as_itself(
    db, serve_pages: Callable[[dict[str, bytes]], TestSite], monkeypatch
):
    # the page budget is spent when the canonical comes up, and its request is dropped: 5 =
    # "/", the test site's three fetchable sitemap URLs (tests/support/testsite.py), /d-print
    monkeypatch.setenv("OMNI_CRAWL_MAX_PAGES", "5")
    text = "Quenching hardens the steel."

    def bare(body: str, head: str = "") -> bytes:  # no site menu: these links only
        return f"<html><head><title>D</title>{head}</head><body>{body}</body></html>".encode()

    site = serve_pages(
        {
            "/": bare(f"<h1>Forge</h1>{para('Tools.')}<a href='/d-print'>d</a>"),
            "/d-print": bare(f"<h1>D</h1>{para(text)}", '<link rel="canonical" href="/d">'),
            "/d": bare(f"<h1>D</h1>{para('Another text.')}"),
        }
    )
    stats = crawl_ok(site.domain)
    rows = {r["url"]: r for r in db.execute("SELECT url, status, content FROM scraped_pages")}
    assert rows[site.url("/d-print")]["status"] == "scraped"
    assert text in rows[site.url("/d-print")]["content"]
    assert site.url("/d") not in rows
    assert (stats["canonical_failed"], stats["duplicate"]) == (1, 0)
    assert stats["budget_skipped"] >= 1


@pytest.mark.parametrize("answer", [304, None])
def test_aliases_wait_for_their_canonical_until_it_answers(db, answer: int | None) -> None:
    """A re-crawl: an alias came back changed (stored as the duplicate, waiting) before its
    canonical. The canonical answering 304 keeps it a duplicate; a canonical never answered
    has it asked again as itself when the spider goes idle."""
    crawler = site_crawler("shop.example")
    spider = crawler.spider
    scheduled: list[Request] = []
    crawler.engine = SimpleNamespace(crawl=scheduled.append)  # type: ignore[assignment]  # a stand-in
    canonical, alias = "https://shop.example/ok", "https://shop.example/ok-print"
    spider.aliases_waiting[canonical] = [(alias, 1)]
    if answer is not None:
        request = spider._request(canonical, 1, {})
        list(spider.parse_page(HtmlResponse(canonical, status=answer, request=request)))
    if answer == 304:
        spider.idle()
        assert scheduled == []
    else:
        with pytest.raises(DontCloseSpider):
            spider.idle()
        assert [(r.url, r.meta["omni_canonical_failed"]) for r in scheduled] == [(alias, True)]
    assert spider.aliases_waiting == {}

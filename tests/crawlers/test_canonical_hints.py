"""rel=canonical is a hint: a page whose canonical URL fails (404, 500, a redirect loop) is
stored as itself, with its content, whether the canonical failed before the page was fetched or
after it had been stored as the canonical's duplicate. A canonical that answers keeps its alias a
duplicate. Crawled from 127.0.0.1 by the real spider."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.crawl_fixtures import crawl_ok
from tests.support.testsite import TestSite, page, para

# alias -> (its canonical, what it says); the canonicals are not pages of the site except /ok
ALIASES = {
    "/a-print": ("/a", "Anvils are forged from one block of steel."),
    "/a-copy": ("/a", "Anvil horns are shaped for bending hot bars."),  # linked from /a-print
    "/b-print": ("/server-error", "Hammers come in five weights."),  # 500
    "/c-print": ("/loop-a", "Tongs hold the hot metal."),  # a redirect loop: no answer
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
    # /a-print, /b-print and /c-print waited for their canonical; /a-copy too, unless /a had
    # failed when it came
    assert stats["canonical_failed"] in (3, 4), stats

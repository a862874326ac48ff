"""A site whose pages the fast pass's boilerplate rules are wrong about (one `<form>` around the
page, content in `<noscript>` or hidden streamed divs, a main column called "sidebar", an empty
`<main>`), plus two script-only shells with no text, crawled from 127.0.0.1: every page is stored
as itself. Their fast pass used to be empty (or the same few words), so all of them had one
fingerprint and all but the first were stored as `duplicate`, without content. A true copy of a
page is still a duplicate."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.crawl_fixtures import crawl_ok
from tests.support.layouts import layouts, page
from tests.support.testsite import TestSite

TOPICS = ["boilers", "radiators"]
SHELL = page("<div id='app'></div><script>document.title = 'loading'</script>")


def site() -> dict[str, tuple[bytes, str]]:
    pages: dict[str, tuple[bytes, str]] = {}
    for topic in TOPICS:
        for name, (html, text) in layouts(topic).items():
            pages[f"/{topic}/{name}"] = (html.encode(), text)
    pages["/app/one"] = pages["/app/two"] = (SHELL.encode(), "")
    links = "".join(f'<li><a href="{path}">{path}</a></li>' for path in pages)
    pages["/copy"] = pages["/boilers/aspnet_form"]
    links += '<li><a href="/copy">a copy</a></li>'
    pages["/"] = (page(f"<h1>Heating help</h1><ul>{links}</ul>").encode(), "")
    return pages


@pytest.fixture
def heating(db, serve_pages: Callable[[dict[str, bytes]], TestSite]) -> TestSite:
    return serve_pages({path: body for path, (body, _) in site().items()})


def test_pages_the_fast_pass_misjudges_are_stored_as_themselves(heating, db):
    crawl_ok(heating.domain)
    rows = {
        r["url"]: r
        for r in db.execute(
            "SELECT p.url, p.status, p.metadata->>'duplicate_of' AS duplicate_of, w.content "
            "FROM scraped_pages p LEFT JOIN website_content w "
            "ON w.domain_id = p.domain_id AND w.url = p.url"
        )
    }
    # whichever of the page and its copy came second is the other's duplicate
    pair = [heating.url("/copy"), heating.url("/boilers/aspnet_form")]
    copy, original = sorted(pair, key=lambda url: rows[url]["status"] != "duplicate")
    assert (rows[copy]["status"], rows[copy]["duplicate_of"]) == ("duplicate", original)
    for path, (_, text) in site().items():
        row = rows[heating.url(path)]
        if row["url"] == copy:
            continue
        assert row["status"] == "scraped", (path, row)
        if text:
            assert text.split("\n\n")[1] in row["content"], (path, row["content"])

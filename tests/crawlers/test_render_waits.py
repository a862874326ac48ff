"""What the browser waits for before a rendered page is read (crawlers/playwright_handler.py,
`_settle`), in real Chromium against a local server. Data a script fetches after `load` is in
the stored text; before, the page was read at `load`, while it was still an empty shell. A page
whose `load` never fires (an async script the server never answers) is read after LOAD_WAIT_S,
with what its scripts wrote. Before, the render failed at the navigation timeout and the page
was stored as served, without that text."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tests.support.crawl_fixtures import crawl_ok
from tests.support.testsite import Handler, TestSite, page, para

FETCHED = "Opening hours come from the shop's API, fetched after load."
WRITTEN = "This sentence is written by a script while another one never loads."


def shell(script: str) -> bytes:
    """An app shell (scripts, almost no text): the crawl renders it in Chromium."""
    return (
        "<!doctype html><html><head><title>App</title></head><body><div id=app></div>"
        f"{script}</body></html>"
    ).encode()


LATE = shell(
    "<script>fetch('/data.json').then(r => r.json())"
    ".then(d => { document.getElementById('app').textContent = d.text })</script>"
)
HANGING = shell(
    '<script async src="/never.js"></script>'
    f"<script>document.getElementById('app').textContent = {WRITTEN!r}</script>"
)
DATA_DELAY_S = 1.0


class SlowAndSilent(Handler):
    """/data.json answers after DATA_DELAY_S (after the page's `load`); /never.js is never
    answered: its connection is held until the test ends (`released`)."""

    released: threading.Event

    def do_GET(self) -> None:
        if self.path == "/never.js":
            self.released.wait(60)
            self.close_connection = True
            return
        if self.path == "/data.json":
            time.sleep(DATA_DELAY_S)
        super().do_GET()


@pytest.fixture
def app_site(db, serve_pages: Callable[..., TestSite]) -> Iterator[TestSite]:
    home = page(
        "Home",
        f"<h1>Home</h1>{para('Welcome.')}<a href='/late'>Hours</a><a href='/hanging'>Info</a>",
    )
    pages = {
        "/": home,
        "/late": LATE,
        "/hanging": HANGING,
        "/data.json": f'{{"text": "{FETCHED}"}}'.encode(),
    }
    handler = type("Handler", (SlowAndSilent,), {"released": threading.Event()})
    yield serve_pages(pages, handler)
    handler.released.set()  # before serve_pages stops the server


def test_rendered_pages_are_read_when_settled(app_site: TestSite, db):
    stats = crawl_ok(app_site.domain)
    rows = {
        row["url"].rsplit("/", 1)[-1]: row
        for row in db.execute(
            "SELECT url, status, content, metadata->>'render_mode' AS render_mode "
            "FROM scraped_pages"
        )
    }
    for name, sentence in (("late", FETCHED), ("hanging", WRITTEN)):
        row = rows[name]
        assert (row["status"], row["render_mode"]) == ("scraped", "playwright"), (name, row)
        assert sentence in row["content"], (name, row["content"])
    assert stats.get("render_load_stopped") == 1 and not stats.get("render_failed"), stats

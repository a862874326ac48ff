"""A page the browser fails on is stored as served, not lost: an app shell (scripts, almost no
text) is rendered in real Chromium, and the server drops the browser's connection without an
answer. The crawl asks the page again without the browser and stores what the server sends,
counted `render_failed`. Before, the page was stored `failed` with the browser's error, and its
text was lost (Discourse topics whose render timed out, found by bench/crawled_vs_direct.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.crawl_fixtures import crawl_ok
from tests.support.testsite import Handler, Recorded, TestSite, page, para

SHELL = (
    b"<!doctype html><html><head><title>Hours</title></head><body><div id=app></div>"
    b"<p>Open nine to five.</p><script>document.getElementById('app').textContent = 'x'</script>"
    b"</body></html>"
)


class DropsTheSecondAsk(Handler):
    """Answers /shell, except the second request for it (the browser's): the connection is
    closed without a byte."""

    def do_GET(self) -> None:
        if self.path == "/shell":
            asked = [r for r in self.site.requests if r.path == "/shell"]
            if len(asked) == 1:
                self.site.requests.append(Recorded(self.path, dict(self.headers), 0))
                self.close_connection = True
                return
        super().do_GET()


@pytest.fixture
def shell_site(db, serve_pages: Callable[..., TestSite]) -> TestSite:
    home = page("Home", f"<h1>Home</h1>{para('Welcome.')}<a href='/shell'>Hours</a>")
    return serve_pages({"/": home, "/shell": SHELL}, DropsTheSecondAsk)


def test_a_page_the_browser_fails_on_is_stored_as_served(shell_site: TestSite, db):
    stats = crawl_ok(shell_site.domain)
    row = db.execute(
        "SELECT status, content, metadata->>'render_mode' AS render_mode FROM scraped_pages "
        "WHERE url = %s",
        (shell_site.url("/shell"),),
    ).fetchone()
    assert [r.status for r in shell_site.requests if r.path == "/shell"] == [200, 0, 200]
    assert (row["status"], row["render_mode"]) == ("scraped", "static"), row
    assert "Open nine to five." in row["content"]
    assert stats["render_failed"] == 1

"""Chromium's own requests are under the SSRF rule (issue 14, attack 4).

A tenant's site serves app-shell pages (mostly script, so the crawler renders them in real
Chromium) that try to reach another service on 127.0.0.1 by meta refresh, fetch(), an iframe,
a redirect and a WebSocket. With the guard on and only the test site's exact host:port allowed,
the other service sees no connection at all and every attempt is counted. The same crawl with
the guard off shows that each page really does make its request (so the test can fail).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from tests.support.crawl_fixtures import crawl
from tests.support.testsite import TestSite, page, para, start

VECTORS = ("meta", "fetch", "iframe", "redirect", "ws")


class Victim:
    """A TCP service on 127.0.0.1 that records the first line of every connection."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.port = self.sock.getsockname()[1]
        self.hits: list[str] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    first = conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
                except OSError:
                    first = ""  # held open without a byte (a speculative connection)
                self.hits.append(first)
                with contextlib.suppress(OSError):
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecret"
                    )

    def requests(self) -> list[str]:
        """Connections that carried a request (Chromium may open a speculative TCP connection
        to a navigation target before interception aborts it; no byte is sent on it)."""
        return [hit for hit in self.hits if hit]

    def paths(self) -> set[str]:
        return {hit.split(" ")[1].strip("/") for hit in self.hits if " " in hit}

    def close(self) -> None:
        self.sock.close()


def _shell(script: str, head: str = "") -> bytes:
    """An app shell: scripts and almost no text, so the crawler renders it in Chromium."""
    return (
        f"<!doctype html><html><head><title>app</title>{head}</head>"
        f"<body><div id=app></div><script>{script}</script></body></html>"
    ).encode()


def attack_pages(victim: str) -> tuple[dict[str, bytes], dict[str, str]]:
    pages = {
        "/": page(
            "Home",
            "<h1>Welcome</h1>"
            + para("A shop with many fine things for sale.")
            + "".join(f'<a href="/{v}">{v}</a> ' for v in VECTORS),
        ),
        "/meta": _shell(
            "", head=f'<meta http-equiv="refresh" content="0;url=http://{victim}/meta">'
        ),
        "/fetch": _shell(f'fetch("http://{victim}/fetch", {{mode: "no-cors"}}).catch(() => 0);'),
        "/iframe": _shell(
            f'document.body.insertAdjacentHTML("beforeend", '
            f"'<iframe src=\"http://{victim}/iframe\"></iframe>');"
        ),
        "/redirect": _shell(
            'document.body.insertAdjacentHTML("beforeend", \'<iframe src="/hop"></iframe>\');'
        ),
        "/ws": _shell(f'try {{ new WebSocket("ws://{victim}/ws"); }} catch (e) {{}}'),
    }
    return pages, {"/hop": f"http://{victim}/redirect"}


@pytest.fixture
def attack(db, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestSite, Victim]]:
    monkeypatch.setenv("OMNI_CRAWL_DOWNLOAD_TIMEOUT", "20")
    victim = Victim()
    pages, redirects = attack_pages(f"127.0.0.1:{victim.port}")
    site = start(TestSite(pages=pages, redirects=redirects))
    try:
        yield site, victim
    finally:
        site.server.shutdown()
        site.server.server_close()
        victim.close()


def test_rendered_pages_cannot_reach_private_addresses(attack, db, monkeypatch) -> None:
    site, victim = attack
    monkeypatch.setenv("OMNI_ALLOW_PRIVATE_NETWORKS", "0")
    monkeypatch.setenv("OMNI_ALLOWED_PRIVATE_HOSTS", site.domain)  # exactly the site, no more
    stats = crawl(site.domain)
    assert stats["status"] == "completed", stats
    # every attack page went through Chromium; /meta then failed (its main frame was blocked)
    assert stats.get("rendered", 0) == len(VECTORS) - 1, stats
    assert victim.requests() == [], (victim.hits, stats)
    blocked = {
        k.removeprefix("browser_blocked_"): v
        for k, v in stats.items()
        if k.startswith("browser_blocked_")
    }
    # meta refresh and iframe are documents, then fetch(), the redirect hop, the WebSocket
    assert blocked == {"document": 2, "fetch": 1, "redirect": 1, "websocket": 1}, stats
    assert stats["browser_blocked"] == 5
    # a page whose main frame was sent elsewhere is failed with the reason, not stored as
    # Chromium's error page
    row = db.execute(
        "SELECT status, error_message, content FROM scraped_pages WHERE url = %s",
        (site.url("/meta"),),
    ).fetchone()
    assert row["status"] == "failed", row
    assert row["error_message"].startswith("blocked: 127.0.0.1 resolves to non-public address")


def test_without_the_guard_each_attack_page_does_reach_the_victim(attack, monkeypatch) -> None:
    """The control: the same pages with the guard off make their requests (the WebSocket's
    page may close before Playwright connects it; the guarded run shows its attempt)."""
    site, victim = attack
    monkeypatch.setenv("OMNI_ALLOW_PRIVATE_NETWORKS", "1")
    stats = crawl(site.domain)
    assert stats["status"] == "completed", stats
    assert victim.paths() >= set(VECTORS) - {"ws"}, str(victim.hits)
    assert stats.get("browser_blocked", 0) == 0

"""Table-driven tests of the pure item-pipeline rules: change classification, hashing, the
walker's extraction, store rows and enqueue batches."""

from __future__ import annotations

import pytest

from content.fingerprint import EMPTY, classify, content_hash
from content.page_text import extract_html
from pipelines.enqueue import batches
from pipelines.store import http_date, to_row
from tests.support.layouts import FOOT, MENU, layouts, page


@pytest.mark.parametrize(
    "head, language",
    [
        ('<html lang="en-GB">', "en-gb"),
        ('<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en">', "en"),  # XHTML (git-doc)
        ('<html lang="fr" xml:lang="en">', "fr"),
        ('<html><head><meta http-equiv="Content-Language" content="pt_BR">', "pt-br"),
        ('<html><head><meta property="og:locale" content="de_DE">', "de-de"),
        ("<html>", None),
    ],
)
def test_the_page_language_from_its_markup(head: str, language: str | None) -> None:
    assert extract_html(f"{head}<body><p>Text</p></body></html>").language == language


@pytest.mark.parametrize(
    "url, known, first, before, expected",
    [
        ("/a", None, None, None, ("new", None)),
        ("/a", "h0", None, None, ("changed", None)),
        ("/a", "h1", None, None, ("unchanged", None)),
        ("/a", "h1", "/b", "/b", ("unchanged", None)),
        ("/a", None, "/b", None, ("duplicate", "/b")),
        ("/a", None, "/a", None, ("new", None)),
        ("/a", "h0", None, "/c", ("duplicate", "/c")),
        ("/a", None, None, "/a", ("new", None)),
    ],
)
def test_classify(url, known, first, before, expected):
    assert classify(url, "h1", known, first, before) == expected


@pytest.mark.parametrize(
    "url, known, first, before, expected",
    [
        ("/a", None, "/b", None, ("new", None)),
        ("/a", None, None, "/c", ("new", None)),
        ("/a", "h0", "/b", "/c", ("changed", None)),
        ("/a", EMPTY, "/b", "/c", ("unchanged", None)),
    ],
)
def test_a_page_without_text_is_nobodys_duplicate(url, known, first, before, expected):
    assert classify(url, EMPTY, known, first, before) == expected


def test_content_hash_normalises_whitespace_only():
    assert content_hash("Hello   world\n") == content_hash(" Hello world")
    assert content_hash("Hello world") != content_hash("hello world")
    assert len(content_hash("x")) == 32


def test_extract_drops_boilerplate_and_keeps_structure():
    html = """<html lang="de-DE"><head><title>T</title><meta name="description" content="D">
    <link rel="canonical" href="/c"></head><body><header><nav><a href="/">Menu</a></nav></header>
    <div class="cookie-notice">Cookies!</div><div role="navigation">Crumbs</div>
    <main><h1>Head</h1><p>Body <a href="/x">link</a> <b>bold</b>.</p><ul><li>one</li></ul></main>
    <aside>Related</aside><footer>Foot</footer><script>var s = 1;</script></body></html>"""
    e = extract_html(html)
    assert (e.title, e.description, e.language, e.canonical_url) == ("T", "D", "de-de", "/c")
    assert e.text == "Head\n\nBody link bold.\n\none"
    assert e.markdown == "# Head\n\nBody [link](/x) **bold**.\n\n- one"
    assert e.headings == [{"level": 1, "text": "Head"}]


@pytest.mark.parametrize("name", sorted(layouts("boilers")))
def test_a_layout_the_boilerplate_rules_are_wrong_about_keeps_its_text(name: str) -> None:
    html, text = layouts("boilers")[name]
    assert text in extract_html(html).text


@pytest.mark.parametrize(
    "body, text",
    [
        # the rules hold where they leave the page most of its text
        (
            f"{MENU}<form><input name='q'><button>Search the site</button></form>"
            "<p>Boilers are serviced every year by our engineers.</p>"
            f"<div class='sidebar'>Popular posts</div>{FOOT}",
            "Boilers are serviced every year by our engineers.",
        ),
        (
            "<div class='sidebar'>Popular posts and more</div>"
            "<main><p>Boilers are serviced every year.</p></main>",
            "Boilers are serviced every year.",
        ),
    ],
)
def test_boilerplate_goes_where_the_page_keeps_most_of_its_text(body: str, text: str) -> None:
    assert extract_html(page(body)).text == text


@pytest.mark.parametrize(
    "value, expected",
    [
        ("Tue, 14 Nov 2023 22:13:20 GMT", "2023-11-14T22:13:20+00:00"),
        ("garbage", None),
        (None, None),
    ],
)
def test_http_date(value, expected):
    assert http_date(value) == expected


@pytest.mark.parametrize(
    "item, op, status, write_content",
    [
        (
            {"kind": "failed", "url": "u", "error": "HTTP 500", "http_status": 500},
            "fail",
            "failed",
            False,
        ),
        (
            {"kind": "gone", "url": "u", "error": "HTTP 410", "http_status": 410},
            "fail",
            "gone",
            False,
        ),
        ({"kind": "unchanged", "url": "u", "http_status": 304}, "light", "scraped", False),
    ],
)
def test_store_rows(item, op, status, write_content):
    row = to_row(item)
    assert (row["op"], row["status"], row["write_content"]) == (op, status, write_content)


def test_enqueue_batches():
    ids = [str(i) for i in range(250)] + ["1"]
    assert [len(b) for b in batches(ids)] == [100, 100, 50]
    assert batches([]) == []

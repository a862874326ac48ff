"""Pure rules of the crawl: trap bounds by behaviour, dead-link back-off, sitemap ordering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawlers.recheck import (
    CHANGED,
    DUPLICATE,
    KNOWN,
    NEW,
    UNCHANGED,
    crawl_order,
    dead_schedule,
    due,
    duplicate_skippable,
    parse_time,
)
from crawlers.run import describe_exit
from crawlers.traps import TrapGuard, fingerprint, shape_trap

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "url, reason",
    [
        ("https://s.example/p/1000", None),
        ("https://s.example/article/2024/05/12/slug", None),
        ("https://s.example/?p=123", None),
        (
            "https://s.example/list?" + "&".join(f"f{i}=1" for i in range(9)),
            "too many query parameters",
        ),
        ("https://s.example/list?a=1&a=2", "repeated query parameter"),
        ("https://s.example/a/b/a/b/a/b/a/b", "repeated path segment"),
        ("https://s.example/" + "x" * 1200, "URL too long"),
    ],
)
def test_shape_traps(url, reason):
    assert shape_trap(url) == reason


@pytest.mark.parametrize(
    "a, url_a, b, url_b, same",
    [
        # an empty calendar month: its numbers are its own URL's and its link's
        (
            b"<h1>Events in 2024-01</h1><a href='?month=2024-02'>",
            "https://s.example/cal?month=2024-01",
            b"<h1>Events in 2031-11</h1><a href='?month=2031-12'>",
            "https://s.example/cal?month=2031-11",
            True,
        ),
        # a session-id copy: the token is in the markup only
        (
            b"<a href='/shop?token=9f8e7d6c5b'>Shop</a>",
            "https://s.example/cart?token=1",
            b"<a href='/shop?token=1a2b3c4d5e'>Shop</a>",
            "https://s.example/cart?token=2",
            True,
        ),
        (
            b"<p>Your cart, session 9f8e7d6c5b4a3f2e1d</p>",
            "https://s.example/cart",
            b"<p>Your cart, session 1a2b3c4d5e6f7a8b9c</p>",
            "https://s.example/cart",
            True,
        ),
        (
            b"<h1>Oak table</h1><p>Solid oak.</p>",
            "https://s.example/p/1",
            b"<h1>Pine chair</h1><p>Soft pine.</p>",
            "https://s.example/p/2",
            False,
        ),
        # products that differ only in their numbers are different pages
        (
            b"<p>Item 10403 is a tent with serial SER00403, weighing 503 grams and priced at 423 "
            b"euros.</p>",
            "https://s.example/p/10403",
            b"<p>Item 10404 is a tent with serial SER00404, weighing 504 grams and priced at 424 "
            b"euros.</p>",
            "https://s.example/p/10404",
            False,
        ),
        # ... but one whose only number is its own id says nothing its neighbour does not
        (
            b"<h1>Item 1000</h1><p>A tent.</p>",
            "https://s.example/p/1000",
            b"<h1>Item 1001</h1><p>A tent.</p>",
            "https://s.example/p/1001",
            True,
        ),
    ],
)
def test_fingerprint_ignores_the_pages_own_numbers_and_tokens_only(a, url_a, b, url_b, same):
    assert (fingerprint(a, url_a) == fingerprint(b, url_b)) is same


def shop_item(n: int) -> tuple[str, bytes]:
    url = f"https://s.example/p/{10000 + n}"
    return url, (
        f"<p>Item {10000 + n} is a tent with serial SER{n:05d}, weighing {100 + n} grams "
        f"and priced at {20 + n} euros.</p><a href='/'>Home</a>"
    ).encode()


def test_a_catalogue_whose_items_differ_only_in_numbers_is_never_barren():
    guard = TrapGuard(limit=5)
    for i in range(500):
        url, body = shop_item(i)
        assert guard.verdict(url, "s/p/{n}", 0, False) is None
        # half link a "related" item not seen yet, half are leaves
        assert guard.record_page("s/p/{n}", fingerprint(body, url), i % 2, 0) is True
    assert guard.verdict("https://s.example/p/20000", "s/p/{n}", 0, False) is None
    assert guard.counts == {"leaf": 250, "new_text": 250}


def test_leaf_pages_never_bound_their_pattern_even_when_they_repeat():
    guard = TrapGuard(limit=3)
    same = fingerprint(b"<h1>Item</h1><p>A tent.</p>", "https://s.example/p/1")
    for _ in range(10):
        assert guard.record_page("s/p/{n}", same, 0, 0) is True
    assert guard.verdict("https://s.example/p/99", "s/p/{n}", 0, False) is None
    assert guard.counts == {"leaf": 10}


def test_a_pattern_of_copies_that_keeps_linking_becomes_barren_and_sitemap_urls_are_exempt():
    guard = TrapGuard(limit=3)
    copy = fingerprint(b"<p>No events on 2024-01-01</p>", "https://s.example/cal?d=2024-01-01")
    assert guard.record_page("cal", copy, 1, 0) is True  # the first one is new
    for _ in range(2):
        assert guard.record_page("cal", copy, 1, 0) is False
    assert guard.verdict("https://s.example/cal?d=9", "cal", 0, False) is None  # 1 of 3 was new
    guard.record_page("cal", copy, 1, 0)
    assert (
        guard.verdict("https://s.example/cal?d=9", "cal", 0, False)
        == "pattern brings no new content"
    )
    assert guard.verdict("https://s.example/cal?d=9", "cal", 0, True) is None
    # a page of the pattern that links new URLs of other patterns is productive again
    assert guard.record_page("cal", copy, 2, 2) is True
    assert guard.verdict("https://s.example/cal?d=10", "cal", 0, False) is None
    assert guard.counts == {"new_text": 1, "copy": 3, "new_links": 1, "bounded_barren": 1}


@pytest.mark.parametrize("chain, trapped", [(0, False), (5, False), (6, True), (60, True)])
def test_chains_are_bounded(chain, trapped):
    reason = TrapGuard(limit=5).verdict("https://s.example/day/7", "s/day/{n}", chain, False)
    assert (reason == "chain of pages that link only to the next") is trapped


@pytest.mark.parametrize(
    "previous, count, days", [(0, 1, 1), (None, 1, 1), (1, 2, 7), (2, 3, 30), (9, 10, 30)]
)
def test_dead_links_back_off(previous, count, days):
    assert dead_schedule(previous, NOW) == (count, NOW + timedelta(days=days))


@pytest.mark.parametrize(
    "next_check, force, expected",
    [
        (None, False, True),
        (NOW - timedelta(seconds=1), False, True),
        (NOW + timedelta(days=1), False, False),
        (NOW + timedelta(days=1), True, True),
    ],
)
def test_due(next_check, force, expected):
    assert due(next_check, NOW, force) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-05-12", datetime(2024, 5, 12, tzinfo=UTC)),
        ("2024-05-12T10:00:00Z", datetime(2024, 5, 12, 10, tzinfo=UTC)),
        ("2024-05-12T10:00:00+02:00", datetime(2024, 5, 12, 8, tzinfo=UTC)),
        ("yesterday", None),
        (None, None),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text) == expected


def test_crawl_order_puts_the_news_first():
    crawled = NOW - timedelta(days=3)
    sitemap = {
        "https://s/changed": (NOW - timedelta(days=1)).isoformat(),
        "https://s/same": (NOW - timedelta(days=10)).isoformat(),
        "https://s/new": None,
        "https://s/nolastmod": None,
    }
    known = {
        "https://s/changed": (1, crawled),
        "https://s/same": (1, crawled),
        "https://s/nolastmod": (1, crawled),
        "https://s/linked": (3, crawled),
    }
    order = [(p.url.rsplit("/", 1)[1], p.tier) for p in crawl_order(sitemap, known)]
    assert order == [
        ("changed", CHANGED),
        ("new", NEW),
        ("nolastmod", KNOWN),
        ("linked", KNOWN),
        ("same", UNCHANGED),
    ]


def test_duplicates_are_asked_last():
    crawled = NOW - timedelta(days=3)
    known = {"https://s/p/1": (1, crawled), "https://s/p/1/print": (2, crawled)}
    order = [
        (p.url, p.tier)
        for p in crawl_order({"https://s/p/1/print": None}, known, {"https://s/p/1/print"})
    ]
    assert order == [("https://s/p/1", KNOWN), ("https://s/p/1/print", DUPLICATE)]


@pytest.mark.parametrize(
    "canonical_status, checked_days_ago, force, skippable",
    [
        (304, 1, False, True),
        (304, 29, False, True),
        (304, 31, False, False),  # re-checked monthly even while its page is unchanged
        (200, 1, False, False),  # its page changed: the duplicate is asked (conditionally)
        (None, 1, False, False),  # its page has not answered yet
        (304, 1, True, False),  # a forced crawl asks everything
        (304, None, False, False),
    ],
)
def test_duplicate_skippable(canonical_status, checked_days_ago, force, skippable):
    checked = None if checked_days_ago is None else NOW - timedelta(days=checked_days_ago)
    assert duplicate_skippable(canonical_status, checked, NOW, force) is skippable


@pytest.mark.parametrize(
    "code, stderr, expected",
    [
        (-9, "", "crawl process was killed by SIGKILL"),
        (-15, "", "crawl process was killed by SIGTERM"),
        (
            1,
            "Traceback\n  ...\nValueError: bad setting\n",
            "crawl process exited with 1: Traceback ... ValueError: bad setting",
        ),
        (2, "", "crawl process exited with 2"),
    ],
)
def test_describe_exit(code, stderr, expected):
    assert describe_exit(code, stderr) == expected

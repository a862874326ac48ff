from __future__ import annotations

import pytest

from core.url_patterns import check_pattern, matches

URL = "https://shop.test/blog/2024/post?id=3#top"


@pytest.mark.parametrize(
    "pattern, expected",
    [
        ("/blog/*", True),
        ("/blog/2024/post?id=3", True),
        ("/blog/2024/post", False),  # the query is part of what a path pattern sees
        ("/blog/20??/*", True),
        ("/shop/*", False),
        ("https://shop.test/blog/*", True),
        ("https://other.test/blog/*", False),
        ("https://shop.test/blog/2024/post?id=3", True),  # the fragment is never compared
        ("https://shop.test/blog", False),
        ("/blog/[a]*", False),  # only * and ? are special
    ],
)
def test_matches(pattern, expected):
    assert matches(URL, pattern) is expected


@pytest.mark.parametrize(
    "pattern, message",
    [
        ("", "empty"),
        ("blog/*", "neither a URL"),
        ("ftp://x.test/a", "neither a URL"),
        ("/*", "whole site"),
        ("*", "whole site"),
    ],
)
def test_check_pattern_rejects(pattern, message):
    with pytest.raises(ValueError, match=message):
        check_pattern(pattern)

"""The domain's knowledge URL patterns (pure)."""

from __future__ import annotations

import pytest

from core.errors import InvalidValue
from core.knowledge import excluded_by, page_kind, rules_of, valid_patterns

BASE = "https://docs.example"


@pytest.mark.parametrize(
    "path, include, exclude, reason",
    [
        ("/genindex-A.html", [], ["/genindex*"], "exclude /genindex*"),
        ("/genindex.html", [], ["/genindex*"], "exclude /genindex*"),
        ("/library/genindex.html", [], ["/genindex*"], None),  # anchored at the path start
        ("/library/genindex.html", [], ["*/genindex*"], "exclude */genindex*"),
        ("/search?q=x", [], ["/search?*"], "exclude /search?*"),
        ("/library/wave.html", ["/library/*"], [], None),
        ("/tutorial/index.html", ["/library/*"], [], "not in include patterns"),
        (
            "/library/private/x",
            ["/library/*"],
            ["*/private/*"],
            "exclude */private/*",
        ),  # exclude wins
        ("/Library/wave.html", ["/library/*"], [], "not in include patterns"),  # case-sensitive
        ("/x", [], [f"{BASE}/x"], f"exclude {BASE}/x"),  # a whole-URL pattern
    ],
)
def test_excluded_by(path, include, exclude, reason):
    assert excluded_by(BASE + path, include, exclude) == reason


def test_page_kind_excluded_wins_over_structure():
    assert page_kind("navigation", BASE + "/a", [], ["/a"]) == ("excluded", "exclude /a")
    assert page_kind("navigation", BASE + "/b", [], ["/a"]) == ("navigation", None)


@pytest.mark.parametrize(
    "patterns, message",
    [
        ("/genindex*", "list of strings"),
        ([1], "list of strings"),
        ([""], "1 to 200"),
        (["/" + "x" * 200], "1 to 200"),
        (["/a"] * 51, "at most 50"),
    ],
)
def test_invalid_patterns(patterns, message):
    with pytest.raises(InvalidValue, match=message):
        valid_patterns(patterns)


@pytest.mark.parametrize(
    "stored, expected",
    [
        ({}, ([], [])),
        (None, ([], [])),
        ({"include": ["/docs/*"], "exclude": ["/genindex*"]}, (["/docs/*"], ["/genindex*"])),
        ({"exclude": "not a list"}, ([], [])),  # written by other means: counts as none
    ],
)
def test_rules_of(stored, expected):
    assert rules_of({"knowledge_rules": stored}) == expected

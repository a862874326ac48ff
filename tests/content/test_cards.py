"""The cards of grid and list pages (content/cards.py): repeated siblings with a link and a few
words are cards; filter panels, menus, chrome and lone blocks are not."""

from __future__ import annotations

import pytest

from content.cards import page_cards


def tile(i: int) -> str:
    return (
        f"<li class='product-card'><a href='/p/{i}'><h3>Walnut desk drawer {i}</h3></a>"
        f"<span class='price'>${100 + i}</span><span hidden>Quick view</span></li>"
    )


GRID = "<ul class='products'>" + "".join(tile(i) for i in range(6)) + "</ul>"
FILTERS = (
    "<ul class='options'>"
    + "".join(
        f"<li><label><input type='checkbox'> Colour {c} ({n})</label> <a "
        f"href='?c={c}'>only</a></li>"
        for c, n in [("red", 3), ("blue", 7), ("green", 1), ("black", 9), ("white", 2)]
    )
    + "</ul>"
)
MENU = (
    "<ul class='links'>"
    + "".join(
        f"<li><a href='/{w}'>{w}</a></li>" for w in ["Home", "Desks", "Chairs", "Lamps", "Sale"]
    )
    + "</ul>"
)
NAV_GRID = "<nav>" + GRID.replace("products", "tiles") + "</nav>"
POSTS = (
    "<div class='posts'>"
    + "".join(
        f"<article class='teaser'><h2><a href='/blog/{i}'>Standing desk tip {i}</a></h2>"
        "<p>Raise the desk to elbow height and keep the screen at eye level, tip "
        f"{i}.</p></article>"
        for i in range(5)
    )
    + "</div>"
)
PROSE = (
    "<div>"
    + "".join(
        f"<p>A long paragraph of prose number {i} with many words in it and no "
        f"link at all, as an article has.</p>"
        for i in range(6)
    )
    + "</div>"
)


@pytest.mark.parametrize(
    ("body", "cards"),
    [
        (GRID, [f"Walnut desk drawer {i} ${100 + i}" for i in range(6)]),  # hidden text left out
        (
            POSTS,
            [
                f"Standing desk tip {i} Raise the desk to elbow height and keep the screen at eye "
                f"level, tip {i}."
                for i in range(5)
            ],
        ),
        (FILTERS, []),  # a filter panel's options hold inputs
        (MENU, []),  # one-word links: a menu
        (NAV_GRID, []),  # inside the page's chrome
        (PROSE, []),  # repeated paragraphs without links
        (GRID.replace("".join(tile(i) for i in range(3, 6)), ""), []),  # three tiles: not a grid
    ],
)
def test_cards(body, cards):
    assert page_cards(f"<html><body><main><h1>Desks</h1>{body}</main></body></html>") == cards


def test_a_grid_inside_a_kept_grid_is_not_repeated():
    rows = "".join(f"<div class='row'>{GRID}</div>" for _ in range(1))
    assert len(page_cards(f"<html><body>{rows}</body></html>")) == 6


def test_unparseable_html_has_no_cards():
    assert page_cards("") == []

"""The cards of a grid or a list page: repeated sibling elements that each hold a link and a few
words (a product tile's name and price, a post's title and its one-line teaser).

Single-node extractors keep one region of a page and judge it by its prose, so a category grid
(forty tiles of "Desk Drawer / $129+") is either dropped or cut to its first rows. Here every
element whose children repeat one shape (same tag and class) at least MIN_CARDS times, with a
link and CARD_WORDS words in most of them, is a grid; filter panels (their items hold form
inputs), menus (every word a link's, a few words a card) and page chrome (`nav`, `header`,
`footer`, `aside`) are not. The grids kept are the largest by words and those at least half its
size. Pure: the caller passes the parsed tree. Used by `content/main_content.py` for
collection and listing pages; how it was tuned: docs/extraction.md.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator

import lxml.html

MIN_CARDS = 4
CARD_WORDS = (2, 60)  # a card's words: its title and one-line facts, not an article
SHARE_WITH_LINK = 0.75  # of the repeated children that must hold a link and fit CARD_WORDS
MIN_CARD_MEAN_WORDS = 3  # menus' items are one or two words
SECOND_GRID = 0.5  # another grid is kept when it has this share of the largest's words
_CHROME = {
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "select",
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "button",
}
_SKIP = {"script", "style", "noscript", "template", "svg", "select", "option"}
_CHROME_CLASS = {
    "menu",
    "nav",
    "navbar",
    "navigation",
    "breadcrumb",
    "breadcrumbs",
    "filter",
    "filters",
    "facet",
    "facets",
    "footer",
    "header",
    "sidebar",
    "pagination",
    "cookie",
    "social",
    "share",
    "megamenu",
    "dropdown",
}
_WORDS = re.compile(r"[a-z]+")


def _signature(node: lxml.html.HtmlElement) -> tuple[str, str]:
    classes = sorted((node.get("class") or "").split())
    return node.tag if isinstance(node.tag, str) else "", classes[0] if classes else ""


def _is_chrome(node: lxml.html.HtmlElement) -> bool:
    for el in (node, *node.iterancestors()):
        if not isinstance(el.tag, str):
            continue
        if el.tag in _CHROME or el.get("role") in ("navigation", "banner", "contentinfo"):
            return True
        marks = _WORDS.findall(f"{el.get('class') or ''} {el.get('id') or ''}".lower())
        if any(word in _CHROME_CLASS for word in marks):
            return True
    return False


def card_runs(card: lxml.html.HtmlElement) -> list[str]:
    """The card's text runs (its title, price, teaser), hidden parts left out."""
    out: list[str] = []
    for el in _shown(card):
        for chunk in (el.text,) + tuple(child.tail for child in el if child.tail):
            words = " ".join((chunk or "").split())
            if words:
                out.append(words)
    return out


def _shown(card: lxml.html.HtmlElement) -> Iterator[lxml.html.HtmlElement]:
    """The card's elements whose own text shows, in document order: not a _SKIP tag, hidden,
    nor inside one of them below the card (the card itself is not judged hidden, and when it is
    a _SKIP tag only its own text is left out)."""
    stack = [card]
    while stack:
        el = stack.pop()
        if el is not card and _skipped(el):
            continue
        if el.tag not in _SKIP:
            yield el
        stack.extend([child for child in el if isinstance(child.tag, str)][::-1])


def _skipped(el: lxml.html.HtmlElement) -> bool:
    return el.tag in _SKIP or el.get("hidden") is not None or el.get("aria-hidden") == "true"


def _grid(children: list[lxml.html.HtmlElement]) -> list[list[str]] | None:
    """The cards' lines when these repeated siblings are a grid of cards, else None."""
    cards, linked = [], 0
    for child in children:
        if next(child.iterdescendants("input"), None) is not None:
            return None  # a filter panel's options
        text = card_runs(child)
        words = sum(len(line.split()) for line in text)
        link_words = sum(len(a.text_content().split()) for a in child.iter("a"))
        has_link = child.tag == "a" or any(
            a.get("href") is not None for a in child.iterdescendants("a")
        )
        if has_link and CARD_WORDS[0] <= words <= CARD_WORDS[1]:
            linked += 1
        cards.append((text, words, link_words))
    if linked < SHARE_WITH_LINK * len(children):
        return None
    total = sum(words for _, words, _ in cards)
    if total < MIN_CARD_MEAN_WORDS * len(cards):
        return None
    if all(
        link_words >= words for _, words, link_words in cards
    ) and total < 2 * MIN_CARD_MEAN_WORDS * len(cards):
        return None  # a menu: short items, every word a link's
    return [text for text, _, _ in cards]


def grids(root: lxml.html.HtmlElement) -> list[list[list[str]]]:
    """The page's grids of cards (each a list of cards, each card its lines), largest first."""
    found: list[tuple[int, list[list[str]]]] = []
    # every element held for the walk: lxml.html makes a Python object for each element it hands
    # out, through a Python class lookup, and the nested walks below would otherwise make most
    # elements' objects again and again
    elements = list(root.iter())
    for parent in elements:
        if len(parent) < MIN_CARDS or not isinstance(parent.tag, str) or parent.tag in _SKIP:
            continue  # fewer children than a grid's cards
        groups: dict[tuple[str, str], list[lxml.html.HtmlElement]] = defaultdict(list)
        for child in parent:
            if isinstance(child.tag, str):
                groups[_signature(child)].append(child)
        repeated = [children for children in groups.values() if len(children) >= MIN_CARDS]
        if not repeated or _is_chrome(parent):
            continue
        for children in repeated:
            grid = _grid(children)
            if grid:
                found.append((sum(len(line.split()) for card in grid for line in card), grid))
    if not found:
        return []
    found.sort(key=lambda wg: -wg[0])
    largest = found[0][0]
    kept, seen = [], Counter[str]()
    for words, grid in found:
        if words < SECOND_GRID * largest:
            break
        lines = [line for card in grid for line in card]
        if sum(seen[line] > 0 for line in lines) * 2 > len(lines):
            continue  # a grid nested in one already kept
        seen.update(lines)
        kept.append(grid)
    return kept


def parse_page(html: str) -> lxml.html.HtmlElement | None:
    """The page parsed by lxml.html; None when lxml cannot (empty or unparsable markup)."""
    try:
        return lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return None


def page_cards(html: str) -> list[str]:
    """The page's cards, one line each (its runs one space apart), grid by grid."""
    root = parse_page(html)
    return [] if root is None else cards_of(root)


def cards_of(root: lxml.html.HtmlElement) -> list[str]:
    """`page_cards` of the page's parsed tree (read, not changed)."""
    body = root.find("body")
    return [
        " ".join(card)
        for grid in grids(body if body is not None else root)
        for card in grid
        if card
    ]

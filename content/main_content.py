"""Main content by agreement: three extractors, the output the others agree with most.

Each main-content extractor fails on its own kinds of pages (trafilatura returns a teaser on
some blogs, readability takes a comment thread for the article, resiliparse keeps link lists),
and they rarely fail the same way. So each page is read by trafilatura (its core only: its own
fallbacks are the next two), resiliparse's main-content mode and readability-lxml, and the
output kept is the medoid: the one whose word 4-gram shingles agree most with the others'
(F1 of shingle multisets); on a page that does not say it is an article, the fast pass's walker
text votes too (`votes_for`). When trafilatura and resiliparse already agree (>= AGREE),
trafilatura's text is kept without running the other votes (about half of real pages). When no
two of the texts agree even loosely (< DISAGREE), the medoid is an arbitrary pick among
different texts, so trafilatura's, the best single extractor, is kept; and when trafilatura's
text holds the medoid and as much again (the others agree on the post without its comment
thread), trafilatura's is kept too. Then three repairs:
- tail: the last lines of the kept text that no other extractor has (comment forms, "share"
  rows, related links) are cut, unless that would cut half the text or more.
- headline: the page's name leads the text: the <title>'s longest part when a heading of the
  page shows it (the site's name is a short part, or the <h1> of a blog), else the first <h1>.
- byline: a "By Jane Doe" line between the headline and the text on the page goes under the
  headline (trafilatura keeps authors as metadata only).
Figures: docs/extraction.md.
"""

from __future__ import annotations

import copy
import functools
import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import justext.core
import lxml.html
import readability.readability
import trafilatura
import trafilatura.external
from readability import Document
from readability.readability import Unparseable
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree

from content import page_type
from content.cards import cards_of, parse_page
from content.page_text import extract, extract_html
from content.template import SiteTemplate

AGREE = 0.95
DISAGREE = 0.3
# trafilatura's text replaces the medoid when it holds this much of it and is LONGER times its size
CONTAINED = 0.9
LONGER = 2
# a byline is looked for in the page's lines right under the headline, and is a short line
BYLINE_SEARCH = 6
BYLINE_WORDS = 20
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# readability logs a traceback for every page it cannot parse; it returns "" for them here
logging.getLogger("readability.readability").setLevel(logging.CRITICAL)
# readability's HTML cleaner also rewrites every link to drop javascript: URLs, a fifth of its
# time; only the text of its summary is used here, which that does not change (the same text on
# all 587 pages of extraction-dev, docs/extraction.md)
_CLEANER = copy.copy(readability.readability.html_cleaner)
_CLEANER.javascript = False
readability.readability.html_cleaner = _CLEANER
# jusText (trafilatura's second fallback) caches the stoplist it builds by its argument, and
# trafilatura's argument is every language's stop words as a tuple (154,484 words): hashing it to
# find the cached set took 3.6-4.8 ms a call, half the stage's time on a small page. The set is
# found by identity instead (the same set: tests/content/test_main_content.py).
_define_stoplist = justext.core.define_stoplist


@functools.cache
def _every_language() -> frozenset[str]:
    return _define_stoplist(trafilatura.external.JT_STOPLIST)


def _stoplist(stoplist: Any) -> frozenset[str]:
    if stoplist is not None and stoplist is trafilatura.external.JT_STOPLIST:
        return _every_language()
    return _define_stoplist(stoplist)


justext.core.define_stoplist = _stoplist
_TOKEN = re.compile(r"\w+", re.UNICODE)
_BLANK_LINES = re.compile(r"\n\s*\n+")
# "Article title | Site", "Site - Article title", "Site » Section » Article title"
_TITLE_SEPARATOR = re.compile(r"\s+[|–—\-:»·•]+\s+|\s*[|»·•]\s*")
# "By Jane Doe", "Posted by Jane Doe on May 2", "Written by Jane Doe", "// By Jane Doe"
_BYLINE = re.compile(r"^\W*(?:posted\s+|written\s+)?by\b", re.IGNORECASE)


def _phrase(text: str) -> str:
    """The text's words, lower-cased, one space apart: `f" {a} " in f" {b} "` finds words in a
    row whatever the punctuation and line breaks between them."""
    return " ".join(_TOKEN.findall(text.lower()))


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    return grams(_TOKEN.findall(text.lower()), n)


def grams(tokens: Sequence[str], n: int = 4) -> Counter[tuple[str, ...]]:
    """The runs of `n` tokens in a row (fewer tokens than `n`: all of them, one run)."""
    if len(tokens) < n:
        return Counter([tuple(tokens)] if tokens else [])
    return Counter(zip(*(tokens[i:] for i in range(n)), strict=False))  # the later ones shorter


def agreement(a: Counter[tuple[str, ...]], b: Counter[tuple[str, ...]]) -> float:
    """F1 of two shingle multisets (symmetric, 0 when either is empty)."""
    if not a or not b:
        return 0.0
    common = sum((a & b).values())
    if not common:
        return 0.0
    precision, recall = common / sum(b.values()), common / sum(a.values())
    return 2 * precision * recall / (precision + recall)


def pairwise(grams: Sequence[Counter[tuple[str, ...]]]) -> list[list[float]]:
    """Agreement of every pair of texts' `shingles` (1.0 on the diagonal)."""
    agree = [[1.0] * len(grams) for _ in grams]
    for i in range(len(grams)):
        for j in range(i + 1, len(grams)):
            agree[i][j] = agree[j][i] = agreement(grams[i], grams[j])
    return agree


def extends(outer: Counter[tuple[str, ...]], inner: Counter[tuple[str, ...]]) -> bool:
    """Whether `outer` holds CONTAINED of `inner`'s shingles and is LONGER times its size: the
    same text and as much again."""
    size = sum(inner.values())
    return (
        sum((outer & inner).values()) >= CONTAINED * size and sum(outer.values()) >= LONGER * size
    )


def medoid(agree: list[list[float]]) -> int:
    """Index of the text that agrees most with all the others (ties: the earlier one), from
    their `pairwise` agreement."""
    scores = [sum(row) for row in agree]  # the diagonal adds 1 to each: no effect on the order
    return max(range(len(agree)), key=lambda i: (scores[i], -i))


def choose(agree: list[list[float]]) -> int:
    """The text to keep: the medoid, or the first (the best single extractor) when no two
    texts agree at DISAGREE or more."""
    loose = max(
        (agree[i][j] for i in range(len(agree)) for j in range(len(agree)) if i != j), default=0.0
    )
    return medoid(agree) if loose >= DISAGREE else 0


def _tidy(text: str | None) -> str:
    lines = (" ".join(line.split()) for line in (text or "").splitlines())
    return "\n".join(line for line in lines if line)


def by_trafilatura(html: str) -> str:
    return _tidy(
        trafilatura.extract(
            html, fast=True, include_tables=True, include_comments=True, deduplicate=False
        )
    )


def _plain(tree: HTMLTree, main_content: bool) -> str:
    return _tidy(
        extract_plain_text(
            tree,
            main_content=main_content,
            alt_texts=False,
            links=False,
            list_bullets=False,
            form_fields=False,
            noscript=False,
            preserve_formatting=True,
        )
    )


def by_resiliparse(html: str) -> str:
    return _plain(HTMLTree.parse(html), main_content=True)


def by_trafilatura_full(html: str) -> str:
    """trafilatura with its own fallbacks (its readability port and jusText when its core finds
    little): the best single extractor on WCXB's product, forum and documentation pages."""
    return _tidy(
        trafilatura.extract(html, include_tables=True, include_comments=True, deduplicate=False)
    )


def by_trafilatura_recall(html: str) -> str:
    return _tidy(
        trafilatura.extract(
            html, favor_recall=True, include_tables=True, include_comments=True, deduplicate=False
        )
    )


def by_readability(html: str) -> str:
    try:
        summary = Document(html).summary(html_partial=True)
    except (Unparseable, ValueError, TypeError, lxml.etree.ParserError):
        return ""
    return _plain(HTMLTree.parse(summary), main_content=False) if summary.strip() else ""


def main_text(
    html: str,
    *,
    first: Callable[[str], str] = by_trafilatura,
    second: Callable[[str], str] = by_resiliparse,
    votes: Sequence[Callable[[str], str]] = (by_readability,),
) -> str:
    """The page's main content as text, one block a line. The `votes` run only when the first
    two texts disagree."""
    texts = [first(html), second(html)]
    grams = [shingles(text) for text in texts]
    if agreement(grams[0], grams[1]) >= AGREE:
        kept = 0
    else:
        texts += [vote(html) for vote in votes]
        grams += [shingles(text) for text in texts[2:]]
        kept = choose(pairwise(grams))
        if kept and extends(grams[0], grams[kept]):
            kept = 0  # the others agree on a part of what trafilatura kept (its comments)
    others = texts[:kept] + texts[kept + 1 :]
    return "\n".join(without_unsupported_tail(lines(texts[kept]), others))


def without_unsupported_tail(found: list[str], others: Sequence[str]) -> list[str]:
    """`found` without its last lines that none of the `others` has (a line's words in a row),
    unless they are half of its words or more."""
    have = [f" {' '.join(_phrase(line) for line in lines(other))} " for other in others]
    end = len(found)
    while (
        end
        and (words := _phrase(found[end - 1]))
        and not any(f" {words} " in text for text in have)
    ):
        end -= 1
    words_per_line = [len(_TOKEN.findall(line)) for line in found]
    if 2 * sum(words_per_line[:end]) <= sum(words_per_line):
        return found
    return found[:end]


def lines(text: str) -> list[str]:
    return [line for line in _BLANK_LINES.sub("\n", text).split("\n") if line.strip()]


def headline(tree: HTMLTree) -> str | None:
    """The page's name: the <title>'s longest part (site names are the short parts) when a
    heading of the page shows it, else the first <h1> (blogs put the site's name in the <h1>,
    or none, and the post's title in an <h2>)."""
    document = tree.document
    if document is None:  # nothing parsed
        return None
    node = document.query_selector("h1")
    h1 = " ".join((node.text or "").split()) if node is not None else ""
    parts = [part.strip() for part in _TITLE_SEPARATOR.split(tree.title or "") if part.strip()]
    longest = max(parts, key=len, default="")
    if h1 and _phrase(h1) == _phrase(longest):
        return h1
    # values(): iterating the collection itself re-walks it for every item (520 headings: 0.9 s)
    headings = document.query_selector_all("h1, h2, h3, h4, h5, h6").values()
    if longest and _phrase(longest) in {_phrase(heading.text or "") for heading in headings}:
        return longest
    return h1 or None


def with_headline(found: list[str], h1: str | None) -> list[str]:
    """The page's first <h1> leads its main content (trafilatura keeps it as metadata only)."""
    if not found or not h1 or any(h1 in line for line in found[:5]):
        return found
    return [h1, *found]


def with_byline(found: list[str], page: Sequence[str]) -> list[str]:
    """The byline the page shows between `found`'s first line (its headline) and its text
    ("By Jane Doe"), put under the headline: trafilatura keeps the author as metadata only.
    `page` is the whole page's text, one block a line."""
    if len(found) < 2:
        return found
    head = _phrase(found[0])
    start = next((i for i, line in enumerate(page) if _phrase(line) == head), None)
    if start is None:
        return found
    text = f" {_phrase(' '.join(found))} "
    bylines = []
    for line in page[start + 1 : start + 1 + BYLINE_SEARCH]:
        words = _phrase(line)
        size = len(words.split())
        if size >= 4 and f" {words} " in text:
            break  # the text has begun
        if 2 <= size <= BYLINE_WORDS and _BYLINE.match(line) and f" {words} " not in text:
            bylines.append(line)
    return [found[0], *bylines, *found[1:]]


def markdown_for(text: str, blocks: Sequence[tuple[str, str]]) -> str:
    """Markdown of the main text: the fast pass's Markdown blocks whose text is in it (headings,
    lists, tables and links keep their form), else the text itself."""
    text_tokens = _TOKEN.findall(text.lower())
    have, words = grams(text_tokens), f" {' '.join(text_tokens)} "
    kept = []
    for md, block in blocks:
        tokens = _TOKEN.findall(block.lower())
        if not md or not tokens:
            continue
        if len(tokens) < 4:
            found = f" {' '.join(tokens)} " in words
        else:
            runs = grams(tokens)
            found = 2 * sum((runs & have).values()) >= sum(runs.values())
        if found:
            kept.append(md)
    return "\n\n".join(kept) if kept else text


def main_content_text(html: str, template: SiteTemplate | None = None) -> str:
    """The page's main text as stored: by agreement, led by its headline, one block a line,
    without the site's template lines; empty when the extractors find nothing."""
    html = _XML_DECLARATION.sub("", html, count=1)  # lxml refuses it in a str
    tree = HTMLTree.parse(html)
    found = with_headline(lines(main_text(html)), headline(tree))
    found = with_byline(found, lines(_plain(tree, main_content=False)))
    if template is not None:
        found = template.strip(found)
    return "\n".join(found)


def page_main_content(html: str, template: SiteTemplate | None = None) -> tuple[str, str]:
    """(text, markdown): the Markdown keeps the fast pass's blocks that are in the text."""
    text = main_content_text(html, template)
    if not text:
        return "", ""
    return text, markdown_for(text, extract_html(_XML_DECLARATION.sub("", html, count=1)).blocks)


def with_extra_lines(found: list[str], other: str) -> list[str]:
    """`found` and then the lines of `other` it does not have (its words in a row): every
    section of a landing page, not only the largest."""
    have = f" {' '.join(_phrase(line) for line in found)} "
    return found + [
        line for line in lines(other) if (words := _phrase(line)) and f" {words} " not in have
    ]


def product_facts(ld: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The page's product from its JSON-LD: name, brand, sku, price, currency, availability,
    description, specifications (additionalProperty). Empty when there is no single product."""
    products = [
        obj for obj in ld if "Product" in _ld_types(obj) or "ProductGroup" in _ld_types(obj)
    ]
    if len(products) != 1:
        return {}
    product = products[0]
    offers = product.get("offers")
    offer = (offers[0] if offers else {}) if isinstance(offers, list) else (offers or {})
    if isinstance(offer, dict) and isinstance(offer.get("offers"), list) and offer["offers"]:
        offer = offer["offers"][0]  # AggregateOffer
    offer = offer if isinstance(offer, dict) else {}
    brand = product.get("brand")
    facts: dict[str, Any] = {
        "name": _ld_text(product.get("name")),
        "brand": _ld_text(brand.get("name") if isinstance(brand, dict) else brand),
        "sku": _ld_text(product.get("sku")),
        "price": _ld_text(offer.get("price") or offer.get("lowPrice")),
        "currency": _ld_text(offer.get("priceCurrency")),
        "availability": _ld_text(offer.get("availability")).rsplit("/", 1)[-1],
        "description": _ld_text(product.get("description")),
    }
    specs = [
        f"{_ld_text(p.get('name'))}: {_ld_text(p.get('value'))}"
        for p in product.get("additionalProperty") or []
        if isinstance(p, dict)
    ]
    facts = {k: v for k, v in facts.items() if v}
    if specs:
        facts["specifications"] = specs
    return facts


def _ld_types(obj: dict[str, Any]) -> list[str]:
    kind = obj.get("@type")
    return [
        k.rsplit("/", 1)[-1]
        for k in (kind if isinstance(kind, list) else [kind])
        if isinstance(k, str)
    ]


def _ld_text(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or ""
    text = lxml.html.fromstring(str(value)).text_content() if "<" in str(value) else str(value)
    return " ".join(text.split())


_AVAILABILITY = {
    "InStock": "In stock",
    "OutOfStock": "Out of stock",
    "PreOrder": "Pre-order",
    "BackOrder": "Back order",
    "LimitedAvailability": "Limited availability",
    "Discontinued": "Discontinued",
    "SoldOut": "Sold out",
    "OnlineOnly": "Online only",
    "InStoreOnly": "In store only",
}


def with_product_facts(found: list[str], facts: dict[str, Any]) -> list[str]:
    """The product's name, price, availability, description and specifications from its JSON-LD,
    each added where the DOM's text does not already show it (the facts often live only in the
    markup, or in tabs the extractors drop)."""
    if not facts:
        return found
    have = f" {' '.join(_phrase(line) for line in found)} "

    def missing(line: str) -> bool:
        words = _phrase(line)
        return bool(words) and f" {words} " not in have

    head = [line for line in (facts.get("name"),) if line and missing(line)]
    price = " ".join(filter(None, (facts.get("price"), facts.get("currency"))))
    offer = [
        line
        for line in (price, _AVAILABILITY.get(facts.get("availability", ""), ""))
        if line and missing(line)
    ]
    tail = [
        line
        for line in (facts.get("description"), *facts.get("specifications", []))
        if line and missing(line)
    ]
    return (
        [*head, *found[:1], *offer, *found[1:], *tail]
        if head
        else [*found[:1], *offer, *found[1:], *tail]
    )


# a block of other products on a product page ("Customers also viewed"): it rotates, and it is
# not this product's knowledge
_RECOMMENDATIONS = re.compile(
    r"^\W*(?:customers (?:also )?(?:viewed|bought|liked)|you (?:may|might) also (?:like|love)|"
    r"related products|recommended(?: for you| products)?|recently viewed|similar "
    r"(?:products|items)|"
    r"frequently bought together|people also (?:bought|viewed)|more from this (?:brand|shop))\b",
    re.IGNORECASE,
)
RECOMMENDATION_ITEM_WORDS = 8
# a product page's JSON-LD facts join its text only when the DOM's text is this short: where the
# DOM shows the product, WCXB's hand-marked text leaves the markup's copy out (tuning half: the
# facts added to every product page -0.011 F1, only below 60 words: no page lost)
FACTS_ONLY_BELOW = 60


def without_recommendations(found: list[str]) -> list[str]:
    """`found` without each recommendations heading and the short lines (product cards) after
    it, up to the next line of RECOMMENDATION_ITEM_WORDS words or more."""
    out, skipping = [], False
    for line in found:
        if _RECOMMENDATIONS.match(line) and len(_TOKEN.findall(line)) <= 8:
            skipping = True
            continue
        if skipping and len(_TOKEN.findall(line)) < RECOMMENDATION_ITEM_WORDS:
            continue
        skipping = False
        out.append(line)
    return out


@dataclass
class PageContent:
    """What the main-content stage stores for a page (and `omni extract` prints)."""

    page_type: str
    title: str | None
    text: str
    markdown: str
    facts: dict[str, Any] = field(default_factory=dict)


def votes_for(og_type: str, walker: str) -> tuple[Callable[[str], str], ...]:
    """The texts that vote when trafilatura's and resiliparse's disagree: readability's, and
    the fast pass's walker's (`walker`, its blocks as the walker left them, tidied only when it
    votes) unless the page says it is an article (og:type). The walker keeps
    the whole page less its chrome, as resiliparse does: on a news post the two outvote the
    post's own text with its related links; on other pages its sections win the recall
    (docs/extraction.md, "The walker's vote")."""
    if og_type == "article":
        return (by_readability,)
    return (by_readability, lambda _html: _tidy(walker))


def _extracted(
    html: str,
    kind: str,
    resiliparse: str,
    cards: list[str],
    cards_outweigh: bool,
    votes: Sequence[Callable[[str], str]],
) -> list[str]:
    """The main text by the page type's rule (docs/extraction.md, "Page types");
    `resiliparse` is its main-content text of the page, `cards` the page's cards: a listing's
    text keeps them all, a collection's only when they outweigh the text (else they are a row
    of other products beside a category's description); `votes` as in `main_text`."""
    if kind == page_type.PRODUCT:
        return without_recommendations(lines(by_trafilatura_full(html)))
    if kind == page_type.DOCUMENTATION:
        return lines(by_trafilatura_full(html))  # code blocks kept; the best single text here
    if kind == page_type.LISTING:
        found = with_extra_lines(lines(by_trafilatura_recall(html)), resiliparse)
        return with_extra_lines(found, "\n".join(cards))
    found = lines(
        main_text(html, first=by_trafilatura_full, second=lambda _: resiliparse, votes=votes)
    )
    if kind == page_type.COLLECTION:
        found = with_extra_lines(found, resiliparse)
        return with_extra_lines(found, "\n".join(cards)) if cards_outweigh else found
    if kind == page_type.SERVICE:
        return with_extra_lines(found, resiliparse)
    return found


def page_content(
    html: str, url: str | None = None, template: SiteTemplate | None = None
) -> PageContent:
    """The page's type, title, main text (one block a line, led by its headline, without the
    site's template lines), its Markdown and its structured facts."""
    html = _XML_DECLARATION.sub("", html, count=1)  # lxml refuses it in a str
    tree, root = HTMLTree.parse(html), parse_page(html)  # one lxml tree: cards, then walker
    ld = list(page_type.ld_objects(html))
    cards = cards_of(root) if root is not None else []  # before the walker below changes root
    resiliparse = _plain(tree, main_content=True)
    signals = page_type.Signals.of(html, url, ld).with_cards(cards, len(resiliparse.split()))
    kind = page_type.classify(signals)
    facts = product_facts(ld) if kind == page_type.PRODUCT else {}
    name = headline(tree)
    # the fast pass's walker: a vote, and the blocks of the Markdown (lxml's error again when it
    # could not parse the page)
    fast = extract(root, measure=False) if root is not None else extract_html(html)
    votes = votes_for(signals.og_type, fast.text)
    cards_outweigh = signals.card_share >= page_type.CARDS_OUTWEIGH
    found = with_headline(_extracted(html, kind, resiliparse, cards, cards_outweigh, votes), name)
    found = with_byline(found, lines(_plain(tree, main_content=False)))
    if sum(len(line.split()) for line in found) < FACTS_ONLY_BELOW:
        found = with_product_facts(found, facts)  # the product lives in its markup
    if template is not None:
        found = template.strip(found)
    text = "\n".join(found)
    markdown = markdown_for(text, fast.blocks) if text else ""
    return PageContent(kind, fast.title or name, text, markdown, facts)

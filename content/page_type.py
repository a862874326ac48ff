"""The kind of a page, from its JSON-LD, its markup and its URL: product, collection, listing,
service, faq, documentation, forum or article (the default). Stored in
`website_content.content_type`; `content/main_content.py` applies each kind's rule for what
the main content is. Pure: the caller parses the page once (`Signals.of`).

The order of the evidence: JSON-LD types the site wrote for this page first (a `Product` with an
offer is a product page whatever its URL), then the URL's path words, then the markup's shape
(many add-to-cart buttons, code blocks beside a sidebar, repeated posts, many `<section>`s).
The rules and how they were tuned: docs/extraction.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

PRODUCT, COLLECTION, LISTING, SERVICE = "product", "collection", "listing", "service"
FAQ, DOCUMENTATION, FORUM, ARTICLE = "faq", "documentation", "forum", "article"
PAGE_TYPES = (PRODUCT, COLLECTION, LISTING, SERVICE, FAQ, DOCUMENTATION, FORUM, ARTICLE)

_JSONLD = re.compile(
    r"<script[^>]+application/ld\+json[^>]*>(.*?)</script>", re.IGNORECASE | re.DOTALL
)
_OG_TYPE = re.compile(
    r"<meta[^>]+property=[\"']og:type[\"'][^>]*content=[\"']([^\"']+)"
    r"|<meta[^>]+content=[\"']([^\"']+)[\"'][^>]*property=[\"']og:type",
    re.IGNORECASE,
)
# The counts below read the page lower-cased once: case-sensitive patterns over it are several
# times faster than IGNORECASE ones over the page (the same matches: `[ -_]` under IGNORECASE
# also took letters, hence `a-z` and the two letters whose capitals fall in that range).
_CART = re.compile(
    r"add[ -_a-z\u0131\u017f]?to[ -_a-z\u0131\u017f]?(?:cart|basket|bag)|addtocart|add_to_cart"
    r"|in den warenkorb|ajouter au panier|buy now"
)
# A number followed by a currency is tried once per run of digits and separators, from the run's
# first character: tried at every digit of a long run (a 1 MB page of comma-separated numbers)
# it took minutes, and a later digit of a run never matches where its first one did not. The
# branch opens with a character class so that the scan for a start stays fast.
_PRICE = re.compile(
    r"[$€£¥]\s?\d[\d.,]*"
    r"|[\d.,](?<![\d.,][\d.,])(?>(?<=\d)[\d.,]*+|[.,]*+\d[\d.,]*+)\s?(?:€|eur|usd|gbp|kr|zł)\b"
)
# Where the counts' matches can start: each pattern's literal openings, found by `str.find`
# (several times faster than the patterns' own scans over a page's markup). A _PRICE match starts
# at a currency sign or at the first character of a run of digits and separators that ends right
# before a currency word or one character (the blank) before it.
_CART_OPENINGS = ("add", "in den warenkorb", "ajouter au panier", "buy now")
_PRICE_SIGNS = ("$", "€", "£", "¥")
_CURRENCY_WORDS = ("€", "eur", "usd", "gbp", "kr", "zł")
_RUN_CHAR = re.compile(r"[\d.,]")
_CODE = re.compile(r"<pre[\s>]|<code[\s>]", re.IGNORECASE)
_POST_CLASS = re.compile(
    r"class=[\"'][^\"']*\b(?:post|message|comment|reply|topic-post|"
    r"forum-post|thread-post|postbody|post-body|cooked)\b"
)
_SECTION = re.compile(r"<section[\s>]", re.IGNORECASE)
_ARTICLE_TAG = re.compile(r"<article[\s>]", re.IGNORECASE)

# JSON-LD @type -> page type (schema.org names, shortened)
_LD_TYPES = {
    "Product": PRODUCT,
    "ProductGroup": PRODUCT,
    "IndividualProduct": PRODUCT,
    "Car": PRODUCT,
    "SoftwareApplication": PRODUCT,
    "CollectionPage": COLLECTION,
    "OfferCatalog": COLLECTION,
    "SearchResultsPage": LISTING,
    "FAQPage": FAQ,
    "QAPage": FORUM,
    "DiscussionForumPosting": FORUM,
    "Question": FORUM,
    "TechArticle": DOCUMENTATION,
    "APIReference": DOCUMENTATION,
    "Article": ARTICLE,
    "NewsArticle": ARTICLE,
    "BlogPosting": ARTICLE,
    "Report": ARTICLE,
    "ScholarlyArticle": ARTICLE,
    "Recipe": ARTICLE,
    "Review": ARTICLE,
    "Service": SERVICE,
    "ProfessionalService": SERVICE,
    "LocalBusiness": SERVICE,
}
# path words -> page type; the first word of the path that names a type wins
_PATH_WORDS = {
    PRODUCT: {
        "product",
        "products",
        "produkt",
        "produit",
        "item",
        "items",
        "p",
        "dp",
        "sku",
        "shop-item",
    },
    COLLECTION: {
        "collections",
        "collection",
        "category",
        "categories",
        "catalog",
        "catalogue",
        "shop",
        "store",
        "c",
        "kategorie",
        "department",
        "brands",
        "brand",
    },
    LISTING: {
        "tag",
        "tags",
        "archive",
        "archives",
        "search",
        "author",
        "page",
        "topics",
        "directory",
        "listings",
        "list",
        "jobs",
        "events",
        "results",
    },
    DOCUMENTATION: {
        "docs",
        "doc",
        "documentation",
        "api",
        "reference",
        "manual",
        "guide",
        "guides",
        "sdk",
        "developer",
        "developers",
        "kb",
        "knowledge-base",
        "wiki",
        "tutorial",
        "tutorials",
        "man",
        "library",
    },
    FORUM: {
        "forum",
        "forums",
        "thread",
        "threads",
        "topic",
        "t",
        "community",
        "discussion",
        "discussions",
        "questions",
        "viewtopic.php",
        "showthread.php",
        "r",
        "board",
    },
    FAQ: {"faq", "faqs", "help", "support"},
    ARTICLE: {
        "blog",
        "news",
        "article",
        "articles",
        "post",
        "posts",
        "story",
        "stories",
        "press",
        "insights",
        "magazine",
    },
    SERVICE: {
        "services",
        "service",
        "solutions",
        "solution",
        "pricing",
        "features",
        "about",
        "about-us",
        "contact",
        "contact-us",
        "why-us",
        "platform",
        "industries",
    },
}
_WORD_TYPE = {word: kind for kind, words in _PATH_WORDS.items() for word in words}
_DATE_PATH = re.compile(r"/(?:19|20)\d{2}/\d{1,2}/")


@dataclass
class Signals:
    """What the typing reads from a page: JSON-LD types, og:type, path words and markup counts."""

    ld_types: list[str] = field(default_factory=list)
    ld_offers: bool = False
    og_type: str = ""
    path: list[str] = field(default_factory=list)
    dated_path: bool = False
    carts: int = 0
    prices: int = 0
    code_blocks: int = 0
    posts: int = 0
    sections: int = 0
    articles: int = 0
    cards: int = 0  # content/cards.py: the page's repeated cards
    card_prices: int = 0  # of which show a price
    card_share: float = 0.0  # the cards' words per word of the main text

    def with_cards(self, cards: list[str], main_words: int) -> Signals:
        self.cards = len(cards)
        self.card_prices = sum(bool(_PRICE.search(card.lower())) for card in cards)
        self.card_share = sum(len(card.split()) for card in cards) / max(1, main_words)
        return self

    @classmethod
    def of(cls, html: str, url: str | None, ld: list[dict[str, Any]] | None = None) -> Signals:
        ld = list(ld_objects(html)) if ld is None else ld
        path = urlsplit(url or "").path.lower()
        og = _OG_TYPE.search(html)
        low = html.lower()
        return cls(
            ld_types=[t for obj in ld for t in _types(obj)],
            ld_offers=any(
                "offers" in obj for obj in ld if PRODUCT in {_LD_TYPES.get(t) for t in _types(obj)}
            ),
            og_type=((og.group(1) or og.group(2)) if og else "").lower(),
            path=[w for w in path.split("/") if w],
            dated_path=bool(_DATE_PATH.search(path)),
            carts=count_carts(low),
            prices=count_prices(low),
            code_blocks=len(_CODE.findall(html)),
            posts=len(_POST_CLASS.findall(low)),
            sections=len(_SECTION.findall(html)),
            articles=len(_ARTICLE_TAG.findall(html)),
        )


def count_matches(pattern: re.Pattern[str], text: str, starts: Iterable[int]) -> int:
    """`len(pattern.findall(text))` when every position where a match can start is in `starts`
    (more are harmless) and no match is empty: the pattern is tried at those positions only."""
    count, done = 0, 0
    for start in sorted(set(starts)):
        if start >= done and (match := pattern.match(text, start)):
            count, done = count + 1, match.end()
    return count


def occurrences(text: str, needles: Iterable[str]) -> Iterator[int]:
    """Where each of `needles` occurs in `text` (overlaps included, needle by needle)."""
    for needle in needles:
        at = text.find(needle)
        while at >= 0:
            yield at
            at = text.find(needle, at + 1)


def count_carts(low: str) -> int:
    """`len(_CART.findall(low))`."""
    return count_matches(_CART, low, occurrences(low, _CART_OPENINGS))


def count_prices(low: str) -> int:
    """`len(_PRICE.findall(low))`."""
    return count_matches(_PRICE, low, _price_starts(low))


def _price_starts(low: str) -> Iterator[int]:
    """Every position where a _PRICE match can start (and a few where it cannot)."""
    yield from occurrences(low, _PRICE_SIGNS)
    for word in occurrences(low, _CURRENCY_WORDS):
        for end in (word, word - 1):
            start = end
            while start > 0 and _RUN_CHAR.match(low, start - 1):
                start -= 1
            if start < end:
                yield start


def ld_objects(html: str) -> Iterator[dict[str, Any]]:
    """Every JSON-LD object of the page (`@graph` members and nested items included)."""
    for block in _JSONLD.findall(html):
        try:
            data = json.loads(block.strip().removeprefix("<!--").removesuffix("-->"))
        except ValueError:
            continue
        yield from _walk(data, 0)


def _walk(data: Any, depth: int) -> Iterator[dict[str, Any]]:
    if depth > 3:
        return
    if isinstance(data, list):
        for item in data:
            yield from _walk(item, depth + 1)
    elif isinstance(data, dict):
        if "@type" in data:
            yield data
        if "@graph" in data:
            yield from _walk(data["@graph"], depth + 1)
        if depth == 0 and isinstance(data.get("mainEntity"), dict | list):
            yield from _walk(data["mainEntity"], depth + 1)


def _types(obj: dict[str, Any]) -> list[str]:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return [k.rsplit("/", 1)[-1] for k in kinds if isinstance(k, str)]


# a grid of priced cards is a collection; many cards that outweigh the text around them a listing
PRICED_CARDS = 6
LISTING_CARDS = 8
LISTING_CARD_SHARE = 0.6
# a grid's cards join the text when they outweigh the main text (else they are a "you may also
# like" row beside it)
CARDS_OUTWEIGH = 1.0


def classify(s: Signals) -> str:
    """The page type (one of PAGE_TYPES): the markup's and URL's evidence, then the cards decide
    between a grid and a page that only has a few cards beside its text. A page whose og:type
    says `article` is not made a listing by its cards or its `<article>` tags: news pages with
    rows of related links, and blogs that mark up each comment as an <article>."""
    kind = _by_markup_and_url(s)
    if kind not in (ARTICLE, SERVICE, FAQ, LISTING):
        return kind
    if s.og_type == "product.group" or s.card_prices >= PRICED_CARDS and s.cards >= PRICED_CARDS:
        return COLLECTION
    if (
        kind != LISTING
        and s.og_type != "article"
        and s.cards >= LISTING_CARDS
        and s.card_share >= LISTING_CARD_SHARE
        and not s.dated_path
    ):
        return LISTING
    return kind


def _by_markup_and_url(s: Signals) -> str:
    ld = [_LD_TYPES[t] for t in s.ld_types if t in _LD_TYPES]
    products = ld.count(PRODUCT)
    by_path = next((_WORD_TYPE[w] for w in s.path if w in _WORD_TYPE), None)
    if s.posts >= 6 and (FORUM in ld or by_path == FORUM):
        return FORUM
    if products == 1 and (s.ld_offers or s.og_type == "product"):
        return PRODUCT
    if products >= 3 or COLLECTION in ld:
        return COLLECTION
    if s.og_type == "product" and products <= 1:
        return PRODUCT
    if s.carts >= 4 and s.prices >= 4 and products != 1:
        return COLLECTION
    if FAQ in ld and not products:
        return FAQ
    if DOCUMENTATION in ld or by_path == DOCUMENTATION and s.code_blocks >= 1:
        return DOCUMENTATION
    if FORUM in ld or by_path == FORUM and s.posts >= 3:
        return FORUM
    if s.og_type == "product" or products == 1 or by_path == PRODUCT and (s.carts or s.prices):
        return PRODUCT
    if by_path == COLLECTION and s.prices >= 4:
        return COLLECTION
    if by_path == LISTING or LISTING in ld or s.articles >= 5 and s.og_type != "article":
        return LISTING
    if ARTICLE in ld or s.og_type == "article" or s.dated_path or by_path == ARTICLE:
        return ARTICLE
    if by_path == FAQ:
        return FAQ
    if s.code_blocks >= 4:
        return DOCUMENTATION
    if SERVICE in ld or by_path == SERVICE or s.sections >= 4:
        return SERVICE
    return ARTICLE

"""Page typing (content/page_type.py) from its signals: JSON-LD, og:type, the URL, the markup's
counts and the page's cards."""

from __future__ import annotations

import pytest

from content.page_type import _CART, _PRICE, Signals, classify, count_carts, count_prices


def signals(
    html: str = "<html><body><p>Text</p></body></html>",
    url: str = "https://s.test/x",
    cards: list[str] | None = None,
    main_words: int = 100,
) -> Signals:
    return Signals.of(html, url).with_cards(cards or [], main_words)


PRODUCT_LD = (
    '<script type="application/ld+json">{"@type": "Product", "name": "Mug", '
    '"offers": {"price": "9"}}</script>'
)
CARTS = " ".join(f"<button>Add to cart</button> <span>£{i}.00</span>" for i in range(5))
PRICED = [f"Walnut desk drawer {i} ${100 + i}" for i in range(8)]
OG_ARTICLE = '<meta property="og:type" content="article">'
ARTICLE_TAGS = "".join(f"<article><p>Post {i}</p></article>" for i in range(5))
TEASERS = [f"Standing desk tip {i}: raise the desk to elbow height" for i in range(10)]


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (signals(PRODUCT_LD), "product"),
        (signals('<meta property="og:type" content="product">' + CARTS), "product"),  # not its row
        (signals(CARTS), "collection"),  # carts, prices
        (signals('<meta property="og:type" content="product.group">'), "collection"),
        (signals(cards=PRICED, main_words=500), "collection"),  # a grid of priced cards
        (signals(cards=TEASERS, main_words=80), "listing"),  # cards outweigh the text
        (signals(cards=TEASERS, main_words=2000), "article"),  # a few cards beside a post
        (signals(cards=TEASERS, main_words=80, url="https://s.test/2024/05/post"), "article"),
        # the page says it is an article: its rows of related links, or a blog's comments each
        # in an <article>, do not make it a listing
        (signals(OG_ARTICLE, cards=TEASERS, main_words=80), "article"),
        (signals(OG_ARTICLE + ARTICLE_TAGS), "article"),
        (signals(ARTICLE_TAGS), "listing"),  # without og:type: a page of five posts
        (
            signals(url="https://s.test/docs/install", html="<pre>pip install x</pre>"),
            "documentation",
        ),
        (signals(url="https://s.test/services/repairs"), "service"),
        (signals(), "article"),
    ],
)
def test_classify(page, expected):
    assert classify(page) == expected


def test_card_signals():
    page = signals(cards=PRICED[:3] + TEASERS[:2], main_words=10)
    assert (page.cards, page.card_prices) == (5, 3)
    assert page.card_share == pytest.approx((3 * 5 + 2 * 10) / 10)  # the cards' words per word


@pytest.mark.parametrize(
    ("text", "carts", "prices", "posts"),
    [
        ("<button>ADD TO CART</button> <a>Add-to-Basket</a> addtocart", 3, 0, 0),
        ("Add_to_bag · Buy Now · In den Warenkorb · Ajouter au panier", 4, 0, 0),
        ("addXtoYcart", 1, 0, 0),  # the pattern's `[ -_]` range, as before
        # "4,99 €" is not one: no word boundary after a trailing "€" and a space (as before)
        ("£12.50 and $ 3 and 4,99 € and 10 EUR and 7kr and 1.234,00 USD", 0, 5, 0),
        ("12,50 EURO", 0, 0, 0),  # not a word boundary after the currency
        (",5 eur · .75 usd · x 3.00gbp", 0, 3, 0),  # leading separators belong to the run
        ("5€5€ 1,2,3 eur", 0, 2, 0),  # "5€", then "€ 1,2,3" (the symbol first)
        ('<div class="Forum-Post"> <li class="x COMMENT y">', 0, 0, 2),
    ],
)
def test_markup_counts(text, carts, prices, posts):
    found = Signals.of(f"<html><body>{text}</body></html>", "https://s.test/x")
    assert (found.carts, found.prices, found.posts) == (carts, prices, posts)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "$5€5 eur ¥ 3 £,",
        "5€5€ 1,2,3 eur 12,50 euro ,5 eur .75 usd 3.00gbp 7kr 9 zł",
        "1\u20032 usd 4\n eur 5\u00a0kr ..,, eur 1.2.3.$4",
        "addaddtocart add to  cart add-to-bag buy nowbuy now in den warenkorb",
    ],
)
def test_the_counts_are_the_patterns_findall(text):
    # count_carts and count_prices try the patterns at fewer places, never with another result
    assert (count_carts(text), count_prices(text)) == (
        len(_CART.findall(text)),
        len(_PRICE.findall(text)),
    )


@pytest.mark.timeout(60)
def test_a_long_run_of_numbers_is_counted_once_not_rescanned():
    # a 1 MB page of comma-separated numbers (a chart's data in a script) ran for minutes
    page = "<script>var d=[" + ",".join(str(i % 10) for i in range(500_000)) + "];</script>"
    found = Signals.of(page + "<p>Now 12,50 EUR</p>", "https://s.test/x")
    assert found.prices == 1

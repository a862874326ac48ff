"""Page typing (content/page_type.py) from its signals: JSON-LD, og:type, the URL, the markup's
counts and the page's cards."""

from __future__ import annotations

import pytest

from content.page_type import Signals, classify


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

"""The catalogue sync's pure parts: API items to products, product facts, Retry-After and
back-off, the cursor, where a sync may connect, and which scraped rows lose."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workers.catalog import shopify, woocommerce
from workers.catalog.http import backoff, retry_after_seconds
from workers.catalog.model import Product, plain_text, stock_phrase
from workers.catalog.sources import (
    check_base_url,
    credentials_allowed,
    modified_after,
    next_cursor,
)
from workers.catalog.store import superseded
from workers.errors import PermanentError

WOO_ITEM = {
    "id": 7,
    "name": "Alpine tent",
    "sku": "ALP-2",
    "price": "279.00",
    "regular_price": "299.00",
    "sale_price": "279.00",
    "permalink": "https://s.test/p/alpine/",
    "stock_status": "instock",
    "stock_quantity": 4,
    "type": "variable",
    "categories": [{"name": "Tents"}, {"name": "Sale"}],
    "short_description": "<p>Two-person tent &amp; footprint.</p>",
    "date_modified_gmt": "2026-01-05T09:30:00",
}
WOO_VARIATION = {
    "id": 71,
    "sku": "ALP-2-GRN",
    "price": "279.00",
    "stock_status": "onbackorder",
    "stock_quantity": None,
    "attributes": [{"name": "Colour", "option": "Green"}],
}
SHOPIFY_ITEM = {
    "id": 9,
    "title": "Kettle",
    "handle": "kettle",
    "product_type": "Cookware",
    "body_html": "<b>Boils</b> fast",
    "updated_at": "2026-01-05T10:00:00Z",
    "variants": [
        {
            "id": 1,
            "title": "1 l",
            "sku": "K1",
            "price": "25.00",
            "compare_at_price": "30.00",
            "available": False,
        },
        {"id": 2, "title": "2 l", "sku": "K2", "price": "32.00", "available": True},
    ],
}


def test_woocommerce_product_from():
    p = woocommerce.product_from(WOO_ITEM, [WOO_VARIATION])
    assert (p.product_id, p.url, p.sku, p.price, p.regular_price, p.sale_price) == (
        "7",
        "https://s.test/p/alpine/",
        "ALP-2",
        "279.00",
        "299.00",
        "279.00",
    )
    assert (p.in_stock, p.stock_quantity, p.categories) == (True, 4, ["Tents", "Sale"])
    assert p.description == "Two-person tent & footprint." and p.modified == "2026-01-05T09:30:00"
    assert p.variants == [
        {
            "id": "71",
            "name": "Green",
            "sku": "ALP-2-GRN",
            "price": "279.00",
            "in_stock": True,
            "stock_status": "onbackorder",
        }
    ]
    assert p.skus == ["ALP-2", "ALP-2-GRN"]
    assert p.page_url == "catalog:woocommerce:https://s.test/p/alpine/"


def test_shopify_product_from():
    p = shopify.product_from(SHOPIFY_ITEM, "https://s.test/")
    assert (p.product_id, p.url, p.name, p.sku, p.price) == (
        "9",
        "https://s.test/products/kettle",
        "Kettle",
        None,
        "25.00",
    )
    assert (p.in_stock, p.stock_status, p.categories) == (True, "instock", ["Cookware"])
    assert (p.regular_price, p.sale_price) == ("30.00", "25.00")
    assert [(v["name"], v["sku"], v["in_stock"]) for v in p.variants] == [
        ("1 l", "K1", False),
        ("2 l", "K2", True),
    ]
    single = shopify.product_from(
        {
            **SHOPIFY_ITEM,
            "variants": [
                {"id": 3, "title": "Default Title", "sku": "K", "price": "5", "available": False}
            ],
        },
        "https://s.test",
    )
    assert (single.sku, single.variants, single.in_stock) == ("K", [], False)


def test_facts_say_what_customers_ask():
    facts = woocommerce.product_from(WOO_ITEM, [WOO_VARIATION]).facts()
    assert facts.splitlines()[:5] == [
        "# Alpine tent",
        "SKU: ALP-2",
        "Price: 279.00 (on sale, regular price 299.00)",
        "Availability: in stock (4 available)",
        "Categories: Tents, Sale",
    ]
    assert "Variant Green: SKU ALP-2-GRN, price 279.00, in stock" in facts
    assert facts.endswith("Product page: https://s.test/p/alpine/")
    changed = woocommerce.product_from({**WOO_ITEM, "stock_quantity": 3}, [WOO_VARIATION])
    assert (
        changed.fingerprint() != woocommerce.product_from(WOO_ITEM, [WOO_VARIATION]).fingerprint()
    )


@pytest.mark.parametrize(
    "in_stock, quantity, phrase",
    [
        (None, None, "unknown"),
        (False, 0, "out of stock"),
        (True, None, "in stock"),
        (True, 3, "in stock (3 available)"),
    ],
)
def test_stock_phrase(in_stock, quantity, phrase):
    assert stock_phrase(in_stock, quantity) == phrase


@pytest.mark.parametrize(
    "markup, text",
    [
        ("<p>A &amp; B</p>\n<ul><li>x</li></ul>", "A & B x"),
        ("", None),
        (None, None),
        ("<br>", None),
    ],
)
def test_plain_text(markup, text):
    assert plain_text(markup) == text


@pytest.mark.parametrize(
    "value, seconds",
    [
        ("3", 3.0),
        (" 120 ", 120.0),
        (None, None),
        ("soon", None),
        ("Thu, 01 Jan 1970 00:00:10 GMT", 5.0),  # an HTTP date, 5 s after `now`
        ("Thu, 01 Jan 1970 00:00:01 GMT", 0.0),  # already past
    ],
)
def test_retry_after_seconds(value, seconds):
    assert retry_after_seconds(value, now=5.0) == seconds


@pytest.mark.parametrize(
    "attempt, retry_after, wait",
    [(0, None, 0.5), (1, None, 1.0), (3, None, 4.0), (9, None, 8.0), (0, 2.0, 2.0), (4, 0.0, 0.0)],
)
def test_backoff(attempt, retry_after, wait):
    assert backoff(attempt, retry_after) == wait


def test_cursor():
    cursor = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    assert modified_after(None) is None
    assert modified_after(cursor) == "2026-01-05T09:29:59"
    assert next_cursor(None, []) is None
    assert next_cursor(cursor, ["2026-01-05T09:00:00", None, "bad"]) == cursor
    assert next_cursor(cursor, ["2026-01-05T10:00:00Z"]) == datetime(2026, 1, 5, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "url, hosts, allow, error",
    [
        ("https://shop.test/", ("shop.test",), True, None),
        ("https://www.shop.test", ("shop.test",), True, None),
        ("https://other.test", ("shop.test", "other.test"), True, None),  # an owned domain
        ("https://store.shop.test", ("shop.test",), True, "is not the domain shop.test"),
        ("https://evil.test", ("shop.test",), True, "is not the domain shop.test"),
        ("file:///etc/passwd", ("shop.test",), True, "is not an http(s) URL"),
        (
            "http://127.0.0.1:8080",
            ("127.0.0.1:8080",),
            False,
            "blocked: 127.0.0.1 resolves to non-public",
        ),
    ],
)
def test_check_base_url(url, hosts, allow, error):
    if error is None:
        assert check_base_url(url, hosts, allow) == url.rstrip("/")
    else:
        with pytest.raises(PermanentError) as caught:
            check_base_url(url, hosts, allow)
        assert error in str(caught.value)


@pytest.mark.parametrize(
    "url, allowed",
    [
        ("https://shop.test", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost", True),
        ("http://shop.test", False),
    ],
)
def test_credentials_only_over_https(url, allowed):
    if allowed:
        credentials_allowed(url)
    else:
        with pytest.raises(PermanentError, match="only sent over https"):
            credentials_allowed(url)


@pytest.mark.parametrize(
    "data, schema, skus, lost",
    [
        ({"sku": "A"}, {"source": "json-ld"}, {"A"}, True),
        ({"sku": "A"}, {"source": "shop-api"}, {"A"}, False),  # the API's own row
        ({"sku": "A"}, {"source": "woocommerce"}, {"A"}, True),  # scraped from a Woo page
        ({"sku": "B"}, {"source": "json-ld"}, {"A"}, False),
        ({}, None, {"A"}, False),
    ],
)
def test_superseded(data, schema, skus, lost):
    assert superseded(data, schema, skus) is lost


def test_product_data_drops_empty_values():
    data = Product(source="shopify", product_id="1", url="u", name="N").extracted_data()
    assert data == {"source": "shopify", "product_id": "1", "url": "u", "name": "N"}

"""Extraction logic on HTML fixtures and snippets (no database)."""
# ruff: noqa: E501 - its page fixtures are written as a site serves them; a line break
# inside one would change the page under test

from __future__ import annotations

import pytest

from tests.support import extraction_labels as labels
from tests.support.extract_fixtures import page_html
from workers.extraction import extract_page
from workers.extraction.contacts import extract_contacts, normalize_phone, valid_email
from workers.extraction.faq import extract_faqs, is_question
from workers.extraction.normalize import parse_availability, parse_currency, parse_price
from workers.extraction.page import Page
from workers.extraction.platforms import detect_platform


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1.299,00 €", "1299.00"),
        ("$1,299.50", "1299.50"),
        ("£24.50", "24.50"),
        ("12.5", "12.50"),
        (12.5, "12.50"),
        (1999, "1999.00"),
        ("1,50", "1.50"),
        ("0.125", "0.125"),
        ("free", None),
        (None, None),
        (["19.99", "29.99"], "19.99"),
        ("1 049,00 kr", "1049.00"),
    ],
)
def test_parse_price(raw, expected):
    assert parse_price(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("EUR", "EUR"),
        ("€", "EUR"),
        ("£ 24", "GBP"),
        ("US$", "USD"),
        ("$29.00 CAD", "CAD"),
        ("Add to cart", None),
        ("", None),
    ],
)
def test_parse_currency(raw, expected):
    assert parse_currency(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("https://schema.org/InStock", "InStock"),
        ("http://schema.org/OutOfStock", "OutOfStock"),
        ("14 in stock", "InStock"),
        ("Out of stock", "OutOfStock"),
        ("Sold out", "OutOfStock"),
        ("PreOrder", "PreOrder"),
        ("call us", None),
    ],
)
def test_parse_availability(raw, expected):
    assert parse_availability(raw) == expected


@pytest.mark.parametrize(
    "page, name, sku, price, currency, availability, source",
    [
        (
            "woo_product.html",
            "Ceramic Pour-Over Coffee Dripper",
            "BL-DRIP-02",
            "24.50",
            "GBP",
            "InStock",
            "woocommerce",
        ),
        (
            "woo_product2.html",
            "Conical Burr Hand Grinder",
            "BL-GRIND-01",
            "1049.00",
            "GBP",
            "OutOfStock",
            "woocommerce",
        ),
        (
            "shopify_product.html",
            "Merino Wool Beanie",
            "NK-BEANIE-GRY",
            "29.00",
            "CAD",
            "InStock",
            "shopify",
        ),
        (
            "jsonld_product.html",
            "TrailRunner 3 Waterproof Jacket",
            "SO-TR3-BLK-M",
            "149.95",
            "EUR",
            "InStock",
            "json-ld",
        ),
        (
            "microdata_product.html",
            "Cast Iron Skillet 26cm",
            "HH-SKL-26",
            "39.99",
            "USD",
            "LimitedAvailability",
            "microdata",
        ),
        (
            "rdfa_og_product.html",
            "Stonewashed Linen Apron",
            "LT-APRON-1",
            "34.00",
            "GBP",
            "OutOfStock",
            "rdfa",
        ),
    ],
)
def test_products_from_each_kind_of_page(page, name, sku, price, currency, availability, source):
    result = extract_page(page_html(page), f"https://shop.test/{page}")
    products = [r for r in result.rows if r.extract_type == "product"]
    assert len(products) == 1, [p.extracted_data for p in products]
    product = products[0].extracted_data
    assert (
        product["name"],
        product["sku"],
        product["price"],
        product["currency"],
        product["availability"],
    ) == (name, sku, price, currency, availability)
    assert product["images"] and all(i.startswith("https://") for i in product["images"])
    assert products[0].schema_used["source"] == source
    assert 0.5 <= products[0].confidence_score <= 1


def test_woocommerce_sale_price_and_gallery_images():
    product = extract_page(page_html("woo_product.html"), "https://beanleaf.test/p").rows[0]
    assert product.extracted_data["price"] == "24.50"  # the <ins> sale price, not the <del> one
    assert product.extracted_data["images"][0].endswith("/dripper.jpg")
    assert product.schema_used["selectors"]["sku"] == ".sku_wrapper .sku"


def test_shopify_product_json_cents_and_brand():
    row = extract_page(page_html("shopify_product.html"), "https://knits.test/products/x").rows[0]
    assert row.extracted_data["brand"] == "Northern Knits"
    assert row.extracted_data["variants"] == 2
    assert row.extracted_data["url"] == "https://knits.test/products/merino-wool-beanie"
    assert row.schema_used["selectors"] == {"product_json": "script[data-product-json]"}


def test_opengraph_merges_into_the_markup_product_not_a_second_row():
    row = extract_page(page_html("jsonld_product.html"), "https://summit.test/p").rows[0]
    assert row.schema_used["also"] == ["opengraph"]
    assert row.extracted_data["brand"] == "Summit"
    assert row.extracted_data["description"].startswith("Lightweight waterproof")


def test_opengraph_only_product():
    html = """<html><head><meta property="og:type" content="product"><meta property="og:title" content="Oak Board">
    <meta property="product:price:amount" content="45"><meta property="product:price:currency" content="EUR">
    </head><body><p>nothing else</p></body></html>"""
    rows = extract_page(html, "https://x.test/oak").rows
    assert [(r.extract_type, r.extracted_data["price"], r.schema_used["source"]) for r in rows] == [
        ("product", "45.00", "opengraph")
    ]


@pytest.mark.parametrize(
    "page, platform",
    [
        ("woo_product.html", "woocommerce"),
        ("shopify_product.html", "shopify"),
        ("jsonld_product.html", "generic"),
        ("faq_jsonld.html", "generic"),
    ],
)
def test_detect_platform(page, platform):
    assert detect_platform(Page.parse(page_html(page), "https://x.test/")).platform == platform


def test_learned_selectors_read_a_page_without_platform_signals():
    """A custom-themed WooCommerce page (no body classes, no plugin URLs): the domain's learned
    platform and selectors are what read it."""
    first = extract_page(page_html("woo_product.html"), "https://shop.test/a")
    platform = next(p for p in first.patterns if p.pattern_type == "platform")
    learned = {"platform": {"platform": platform.platform, "selectors": platform.selectors}}
    bare = """<html><body><div class="product"><div class="summary"><h1 class="product_title">Tamper</h1>
      <p class="price"><span class="amount">€19.00</span></p>
      <span class="sku_wrapper"><span class="sku">T-1</span></span></div></div></body></html>"""
    assert extract_page(bare, "https://shop.test/b").rows == []  # nothing without the pattern
    row = extract_page(bare, "https://shop.test/b", learned).rows[0]
    assert row.extracted_data | {} == {
        "name": "Tamper",
        "price": "19.00",
        "currency": "EUR",
        "sku": "T-1",
        "url": "https://shop.test/b",
    }
    assert row.schema_used["source"] == "woocommerce" and row.schema_used["learned"] is True


@pytest.mark.parametrize(
    "text, expected",
    [
        ("How do I track my order?", True),
        ("What is your returns policy", True),
        ("Shipping?", True),
        ("Opening hours", False),
        ("Is", False),
        ("Our story", False),
        ("Q: Can I pay by invoice", True),
    ],
)
def test_is_question(text, expected):
    assert is_question(text) is expected


def test_faqpage_json_ld():
    rows = [r for r in extract_page(page_html("faq_jsonld.html"), "https://x.test/faq").rows]
    assert [(r.extract_type, r.extracted_data["question"]) for r in rows] == [
        ("faq", "How long does delivery take?"),
        ("faq", "Do you ship internationally?"),
        ("faq", "Can I return an opened bag of coffee?"),
    ]
    # the HTML inside the answer is reduced to text; the repeated <h2> questions are not duplicates
    assert rows[0].extracted_data["answer"] == "UK orders arrive in 2-3 working days."
    assert {r.schema_used["source"] for r in rows} == {"json-ld"}


@pytest.mark.parametrize(
    "declaration",
    ['<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n', "  <?XML version='1.0'?>"],
)
def test_an_xhtml_page_with_an_xml_declaration_is_read(declaration):
    # lxml refuses a decoded page that declares an encoding: such a page read as empty
    html = declaration + page_html("faq_jsonld.html")
    json_ld = [r.extracted_data["question"] for r in extract_page(html, "https://x.test/faq").rows]
    assert len(json_ld) == 3
    dom = declaration + (
        '<html xmlns="http://www.w3.org/1999/xhtml"><body><footer>Call us on 020 7946 0018 or '
        "write to help@acme.co.uk</footer></body></html>"
    )
    rows = extract_page(dom, "https://acme.co.uk/contact").rows
    assert [r.extracted_data["emails"] for r in rows if r.extract_type == "contact"] == [
        ["help@acme.co.uk"]
    ]


def test_faq_from_headings_and_details():
    pairs = extract_faqs(Page.parse(page_html("faq_headings.html"), "https://x.test/help"))
    got = {p.question: (p.answer, p.method) for p in pairs}
    assert got["How do I track my order?"] == (
        "Use the tracking link in your dispatch email. Tracking updates within 24 hours of "
        "dispatch.",
        "headings",
    )
    assert got["Can I change my delivery address?"][0].startswith("Yes, until the order is packed")
    # a heading wrapped in its own element takes the answer after the wrapper
    assert got["What is your returns policy"][0].startswith("Unworn items")
    assert got["Is the jacket machine washable?"] == (
        "Yes, at 30°C with a technical wash.",
        "details",
    )
    assert "Size guide" not in got and "Orders" not in got and "About us" not in got


def test_faq_microdata():
    html = """<div itemscope itemtype="https://schema.org/FAQPage">
      <div itemprop="mainEntity" itemscope itemtype="https://schema.org/Question">
        <h3 itemprop="name">Do you offer gift wrap?</h3>
        <div itemprop="acceptedAnswer" itemscope itemtype="https://schema.org/Answer">
          <p itemprop="text">Yes, for 3 EUR per order.</p></div></div></div>"""
    pairs = extract_faqs(Page.parse(html, "https://x.test/"))
    assert [(p.question, p.answer, p.method) for p in pairs] == [
        ("Do you offer gift wrap?", "Yes, for 3 EUR per order.", "microdata")
    ]


def test_contacts_page():
    contacts = extract_contacts(
        Page.parse(page_html("contact.html"), "https://beanleaf.test/contact")
    )
    assert contacts.emails == ["orders@beanleaf.test", "press@beanleaf.test"]
    assert contacts.phones == ["+441614960000", "+447700900123"]  # 0161... is the same number
    assert contacts.addresses == [
        {
            "street": "12 Mill Lane",
            "locality": "Manchester",
            "postal_code": "M1 2AB",
            "country": "GB",
            "formatted": "12 Mill Lane, Manchester, M1 2AB, GB",
        }
    ]
    assert contacts.opening_hours == [
        "Saturday 10:00-16:00",
        "Mon-Fri 9:00-17:00",
        "Sunday: closed",
    ]
    assert contacts.name == "Bean & Leaf Roastery"
    assert contacts.confidence == 0.9


@pytest.mark.parametrize(
    "snippet, emails, phones, hours",
    [
        ('<a href="mailto:Info@Acme.co.uk?subject=hi">write</a>', ["info@acme.co.uk"], [], []),
        ('<a href="mailto:Info@Example.org?subject=hi">write</a>', [], [], []),
        ("<footer><p>Phone: (555) 123-4567</p></footer>", [], ["5551234567"], []),
        (
            "<footer><p>Tel. +1-800-555-0199 or fax 020 7946 0958</p></footer>",
            [],
            ["+18005550199", "02079460958"],
            [],
        ),
        ("<p>Order 2024-01-15, total 1,049.00</p>", [], [], []),
        ("<p>Call 12345</p>", [], [], []),
        ("<p>Phone: (555) 123-4567</p>", [], [], []),  # not in a contact place
        ("<p>Open Monday to Friday 8am - 6pm</p>", [], [], []),
        ('<img src="x"><p>sprite@2x.png</p>', [], [], []),
        (
            "<footer><p>Open Monday to Friday 8am - 6pm</p></footer>",
            [],
            [],
            ["Monday to Friday 8am - 6pm"],
        ),
        ("<footer><p>Sat & Sun 10:00–14:00</p></footer>", [], [], ["Sat & Sun 10:00–14:00"]),
    ],
)
def test_contact_snippets(snippet, emails, phones, hours):
    contacts = extract_contacts(
        Page.parse(f"<html><body>{snippet}</body></html>", "https://x.test/")
    )
    assert (contacts.emails, contacts.phones, contacts.opening_hours) == (emails, phones, hours)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("+44 (0)20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("555.123.4567", "5551234567"),
        ("2024-01-15", None),
        ("111-1111", None),
        ("123", None),
    ],
)
def test_normalize_phone(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw, ok",
    [
        ("a@b.co", True),
        ("first.last+tag@sub.example.com", True),
        ("logo@2x.png", False),
        ("a@b", False),
        ("a..b@x.com", False),
    ],
)
def test_valid_email(raw, ok):
    assert valid_email(raw) is ok


@pytest.mark.parametrize("html", ["", "<html", "<<<>>>", "\x00\x01", "<p>just text</p>"])
def test_broken_html_gives_no_rows_not_an_error(html):
    assert extract_page(html, "https://x.test/").rows == []


@pytest.mark.parametrize(
    "snippet, url, emails",
    [
        # code samples are never contacts
        ("<footer><pre>mail info@acme.co.uk</pre></footer>", "https://acme.co.uk/", []),
        ("<footer><code>info@acme.co.uk</code></footer>", "https://acme.co.uk/", []),
        ('<p><kbd><a href="mailto:info@acme.co.uk">x</a></kbd></p>', "https://acme.co.uk/", []),
        # reserved and placeholder addresses never are, except the site's own reserved domain
        ("<footer>Email info@example.com</footer>", "https://acme.co.uk/", []),
        ("<footer>Email info@mail.example.org</footer>", "https://acme.co.uk/", []),
        ("<footer>Email info@shop.test</footer>", "https://acme.co.uk/", []),
        ("<footer>Email info@shop.test</footer>", "https://www.shop.test/", ["info@shop.test"]),
        ("<footer>Email user@acme.co.uk</footer>", "https://acme.co.uk/", []),
        ("<footer>Email info@domain.com</footer>", "https://acme.co.uk/", []),
        # text addresses count in contact places or when the text invites you to write
        ("<footer>info@acme.co.uk</footer>", "https://acme.co.uk/", ["info@acme.co.uk"]),
        ("<h2>Contact us</h2><p>info@acme.co.uk</p>", "https://acme.co.uk/", ["info@acme.co.uk"]),
        (
            '<div class="contact-box">info@acme.co.uk</div>',
            "https://acme.co.uk/",
            ["info@acme.co.uk"],
        ),
        (
            "<p>Write to info@acme.co.uk for samples.</p>",
            "https://acme.co.uk/",
            ["info@acme.co.uk"],
        ),
        ("<p>Written by Eric (eay@acme.co.uk).</p>", "https://acme.co.uk/", []),
        (
            "<p>Written by Eric (eay@acme.co.uk).</p>",
            "https://acme.co.uk/contact",
            ["eay@acme.co.uk"],
        ),
    ],
)
def test_contact_places_and_addresses(snippet, url, emails):
    contacts = extract_contacts(Page.parse(f"<html><body>{snippet}</body></html>", url))
    assert contacts.emails == emails


@pytest.mark.parametrize(
    "body, url, questions",
    [
        # a question heading is an FAQ only in an FAQ place
        ("<h2>How does it work?</h2><p>Like so.</p>", "https://x.co/docs/intro", []),
        ("<h2>How does it work?</h2><p>Like so.</p>", "https://x.co/faq", ["How does it work?"]),
        (
            "<h2>How does it work?</h2><p>Like so.</p>",
            "https://x.co/help/start",
            ["How does it work?"],
        ),
        (
            "<h1>Frequently asked questions</h1><h2>How does it work?</h2><p>Like so.</p>",
            "https://x.co/a",
            ["How does it work?"],
        ),
        (
            "<h2>FAQ</h2><h3>How does it work?</h3><p>Like so.</p><h2>API</h2><h3>What is "
            "x?</h3><p>y</p>",
            "https://x.co/a",
            ["How does it work?"],
        ),
        (
            '<section class="faq"><h3>How does it work?</h3><p>Like so.</p></section>',
            "https://x.co/a",
            ["How does it work?"],
        ),
        ("<h2>How does it work?¶</h2><p>Like so.</p>", "https://x.co/faq/", ["How does it work?"]),
        # definition lists: only under an FAQ heading
        ("<dl><dt>Is it free?</dt><dd>Yes.</dd></dl>", "https://x.co/a", []),
        (
            "<h2>Questions and answers</h2><dl><dt>Is it free?</dt><dd>Yes.</dd></dl>",
            "https://x.co/a",
            ["Is it free?"],
        ),
        # <details><summary> is FAQ markup, but not inside a code sample
        (
            "<details><summary>Is it free?</summary>Yes.</details>",
            "https://x.co/a",
            ["Is it free?"],
        ),
        ("<pre><details><summary>Is it free?</summary>Yes.</details></pre>", "https://x.co/a", []),
    ],
)
def test_faq_places(body, url, questions):
    pairs = extract_faqs(
        Page.parse(f"<html><head><title>x</title></head><body>{body}</body></html>", url)
    )
    assert [p.question for p in pairs] == questions


def test_labelled_sites_precision_and_recall():
    """The hand-labelled shop and Python docs (tests/support/extraction_labels.py)."""

    sites = ["shop"] + (["docs"] if labels.PYTHON_DOCS.is_dir() else [])
    for site in sites:
        pages = labels.shop_pages() if site == "shop" else labels.docs_pages()
        found = set().union(*(labels.found_facts(u, extract_page(h, u).rows) for u, h in pages))
        precision, recall = labels.precision_recall(found, labels.expected(site))
        assert precision >= 0.9 and recall == 1.0, (
            site,
            precision,
            recall,
            found - labels.expected(site),
        )

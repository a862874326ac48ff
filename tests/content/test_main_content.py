"""Pure rules of the extraction step: charset decoding, main content by agreement (structured
shop data kept), volatile masking in the fingerprint, the site template."""
# ruff: noqa: E501 - its page fixtures are written as a site serves them; a line break
# inside one would change the page under test

from __future__ import annotations

import justext.core
import pytest
import trafilatura.external
from resiliparse.parse.html import HTMLTree

from content.charset import decode_html
from content.fingerprint import content_hash
from content.main_content import (
    agreement,
    headline,
    main_text,
    markdown_for,
    medoid,
    page_main_content,
    pairwise,
    shingles,
    with_byline,
    with_headline,
)
from content.template import MIN_PAGES, SiteTemplate, block_key, same_content
from content.volatile import mask_volatile

HU = "Árvíztűrő tükörfúrógép: ő és ű betűk"


@pytest.mark.parametrize(
    "body, content_type",
    [
        (
            f"<html><head><meta charset='iso-8859-2'></head><body><p>{HU}</p></body></html>".encode(
                "iso-8859-2"
            ),
            None,
        ),
        (
            f"<html><head><meta http-equiv='Content-Type' content='text/html; charset=ISO-8859-2'>"
            f"</head><body><p>{HU}</p></body></html>".encode("iso-8859-2"),
            None,
        ),
        (
            f"<html><body><p>{HU}</p></body></html>".encode("iso-8859-2"),
            "text/html; charset=iso-8859-2",
        ),
        # the header wins over <meta>; a BOM wins over both
        (
            f"<html><head><meta charset='utf-8'></head><body><p>{HU}</p></body></html>".encode(
                "iso-8859-2"
            ),
            "text/html; charset=ISO-8859-2",
        ),
        (
            b"\xef\xbb\xbf" + f"<html><body><p>{HU}</p></body></html>".encode(),
            "text/html; charset=latin-1",
        ),
        (f"<html><body><p>{HU}</p></body></html>".encode(), None),  # no declaration: detected UTF-8
    ],
)
def test_decode_html_follows_header_bom_and_meta(body, content_type):
    assert HU in decode_html(body, content_type)


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ("one two three four five", "one two three four five", 1.0),
        ("one two three four five", "", 0.0),
        ("one two three four five", "six seven eight nine ten", 0.0),
        ("one two three four five six", "one two three four", 2 * (1 / 1) * (1 / 3) / (1 + 1 / 3)),
    ],
)
def test_agreement_is_the_f1_of_shingles(a, b, expected):
    assert agreement(shingles(a), shingles(b)) == pytest.approx(expected)


@pytest.mark.parametrize(
    "texts, expected",
    [
        (["a b c d e f", "a b c d e f", "x y z w v u"], 0),
        (["x y z w v u", "a b c d e f g", "a b c d e f"], 1),  # the outlier loses
        (["", "p q r s t", "p q r s t u v"], 1),  # an empty output never wins over agreeing ones
    ],
)
def test_medoid_is_the_text_the_others_agree_with(texts, expected):
    assert medoid(pairwise([shingles(text) for text in texts])) == expected


SHOP = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Forge Anvil 50 kg | Acme</title></head>
<body><header class="site-header"><a href="/">Acme</a><nav><a href="/">Home</a> <a href="/shop">Shop</a>
<a href="/blog">Blog</a> <a href="/contact">Contact</a></nav></header>
<div class="cookie-consent">We use cookies to improve your visit. <button>Accept all cookies</button></div>
<main><div class="product">
<h1>Forge Anvil 50 kg</h1>
<p class="price">£349.00</p>
<p class="stock">In stock, ships within 2 working days</p>
<p>A drop-forged steel anvil with a hardened face, a round horn for bending and a hardy hole for
tools. Made in Sheffield and tested to 60 HRC before it leaves the works.</p>
<h2>Specifications</h2>
<table class="specs"><tr><th>Weight</th><td>50 kg</td></tr><tr><th>Face</th><td>310 x 110 mm</td></tr>
<tr><th>Material</th><td>Drop-forged steel</td></tr><tr><th>Hardness</th><td>60 HRC</td></tr></table>
<h2>Questions</h2>
<details><summary>Does the anvil need a stand?</summary><p>Yes, mount it on a hardwood stump or our
steel stand so the face sits at knuckle height.</p></details>
<details><summary>Can I return it?</summary><p>Unused anvils can be returned within 30 days for a full refund.</p></details>
</div></main>
<footer class="site-footer"><p>Acme Forge Supplies Ltd · 1 Works Road, Sheffield · Company no. 01234567</p>
<p>Subscribe to our newsletter for offers</p></footer></body></html>"""


@pytest.mark.parametrize(
    "kept",
    [
        "Forge Anvil 50 kg",
        "£349.00",
        "In stock, ships within 2 working days",
        "hardened face",
        "Weight",
        "50 kg",
        "Drop-forged steel",
        "60 HRC",
        "Does the anvil need a stand?",
        "hardwood stump",
        "returned within 30 days",
    ],
)
def test_shop_page_keeps_product_facts_specs_and_faq_answers(kept):
    assert kept in main_text(SHOP)


@pytest.mark.parametrize("dropped", ["Home", "cookies", "Company no.", "newsletter"])
def test_shop_page_drops_the_chrome(dropped):
    assert dropped not in main_text(SHOP)


def test_shop_page_markdown_keeps_headline_and_specs_table():
    _, markdown = page_main_content(SHOP)
    assert markdown.startswith("# Forge Anvil 50 kg")
    assert "| Material | Drop-forged steel |" in markdown
    assert (
        markdown_for("nothing in common here at all", [("# Other", "Other")])
        == "nothing in common here at all"
    )


@pytest.mark.parametrize(
    "found, h1, expected",
    [
        (["Body text here"], "Title", ["Title", "Body text here"]),
        (["Title", "Body"], "Title", ["Title", "Body"]),
        (["Body"], None, ["Body"]),
        ([], "Title", []),
    ],
)
def test_the_headline_leads_the_main_content(found, h1, expected):
    assert with_headline(found, h1) == expected


@pytest.mark.parametrize(
    "html, expected",
    [
        ("<body><h2>Sub</h2><h1> The  title </h1><h1>Second</h1></body>", "The title"),
        ("<body><h2>Sub</h2></body>", None),
        ("<body><h1> </h1></body>", None),
        # the <h1> is the site's name, the <title>'s short part: the post's title, shown in an <h2>
        (
            (
                "<title>Timeline: now available worldwide | The Facebook Blog</title>"
                "<body><h1>The Facebook Blog</h1><h2>Timeline: Now Available Worldwide</h2></body>"
            ),
            "Timeline: now available worldwide",
        ),
        (
            (
                "<title>Nutty Nomads &raquo; Around the island in a day</title>"
                "<body><h1>nutty nomads</h1><h3>Around the Island in a Day!</h3></body>"
            ),
            "Around the island in a day",
        ),
        # the <h1> is the blog's name, not in the <title>: the title, shown in an <h2>
        (
            (
                "<title>It is misery: a video of the camps</title>"
                "<body><h1>WorldViews</h1><h2>It is misery: a video of the camps</h2></body>"
            ),
            "It is misery: a video of the camps",
        ),
        # the <h1> is the title's long part, or the post's title is not on the page: the <h1>
        (
            "<title>Forge Anvil 50 kg | Acme</title><body><h1>Forge Anvil 50 kg</h1></body>",
            "Forge Anvil 50 kg",
        ),
        ("<title>A post | My Blog</title><body><h1>My Blog</h1><p>Text</p></body>", "My Blog"),
        ("<title>Only the site</title><body><h1>Only the site</h1></body>", "Only the site"),
        # no <h1>: the title's longest part when a heading shows it
        (
            (
                "<title>Home Prices Reflect Strengthening - WSJ.com</title>"
                "<body><h2>Home prices reflect strengthening</h2></body>"
            ),
            "Home Prices Reflect Strengthening",
        ),
        ("<title>A post | My Blog</title><body><p>A post</p></body>", None),
        ("<body><h2>No title</h2></body>", None),
    ],
)
def test_headline(html, expected):
    assert headline(HTMLTree.parse(html)) == expected


BODY = ["The kettle boils a litre in two minutes and switches itself off."]
PAGE = [
    "Home",
    "Kettles that switch themselves off",
    "By Jane Doe on 3 May 2026",
    "Share",
    *BODY,
    "Posted by the editor",
]


@pytest.mark.parametrize(
    "found, page, expected",
    [
        # the byline between the headline and the text goes under the headline
        (
            ["Kettles that switch themselves off", *BODY],
            PAGE,
            ["Kettles that switch themselves off", "By Jane Doe on 3 May 2026", *BODY],
        ),
        (
            ["Kettles that switch themselves off", *BODY],
            [
                "Kettles that switch themselves off",
                "// Posted by Jane Doe",
                "Written by Ann Lee",
                *BODY,
            ],
            [
                "Kettles that switch themselves off",
                "// Posted by Jane Doe",
                "Written by Ann Lee",
                *BODY,
            ],
        ),
        # already kept; after the text has begun; a bare "By"; a long line; no headline on the page
        (
            ["Kettles that switch themselves off", "By Jane Doe on 3 May 2026", *BODY],
            PAGE,
            ["Kettles that switch themselves off", "By Jane Doe on 3 May 2026", *BODY],
        ),
        (
            BODY + ["Posted by the editor"],
            [*BODY, "Posted by the editor"],
            BODY + ["Posted by the editor"],
        ),
        (["Title", *BODY], ["Title", "By", *BODY], ["Title", *BODY]),
        (
            ["Title", *BODY],
            ["Title", "By the time the water boils " + "and " * 20 + "cools", *BODY],
            ["Title", *BODY],
        ),
        (["Other title", *BODY], PAGE, ["Other title", *BODY]),
        (["Only a line"], PAGE, ["Only a line"]),
    ],
)
def test_the_byline_goes_under_the_headline(found, page, expected):
    assert with_byline(found, page) == expected


def test_a_blog_post_is_led_by_its_title_and_byline_not_the_blogs_name():
    html = """<html><head><title>Kettles that switch themselves off | The Kitchen Blog</title></head>
<body><header><h1>The Kitchen Blog</h1><nav><a href=/>Home</a> <a href=/about>About</a></nav></header>
<article><h2>Kettles that switch themselves off</h2>
<div class=author>By <a href=/jane>Jane Doe</a> on 3 May 2026</div>
<p>The kettle boils a litre in two minutes and switches itself off when it runs dry, which is the
safety feature most buyers ask about first.</p>
<p>Its base turns all the way round, so left-handed cooks can pour it as easily as anyone else,
and the cord tucks away underneath.</p>
<p>We tested it for a month in a busy kitchen and it never once failed to switch off, even when
we forgot it on the base overnight.</p></article><footer>Copyright The Kitchen Blog</footer></body></html>"""
    text, _ = page_main_content(html)
    assert text.splitlines()[:2] == [
        "Kettles that switch themselves off",
        "By Jane Doe on 3 May 2026",
    ]
    assert "The Kitchen Blog" not in text


@pytest.mark.parametrize(
    "volatile, stable",
    [
        ("Posted on May 12, 2025 at 10:32 am", "Posted on June 3, 2026 at 9:05 pm"),
        ("Updated 2025-05-12T10:00:00Z", "Updated 2026-01-30T23:59:59+01:00"),
        ("Seen 1,234 views", "Seen 1,301 views"),
        ("viewed 523 times", "viewed 9 times"),
        ("3 hours ago", "25 minutes ago"),
        ("© 2024 Acme", "© 2025 Acme"),
        ("csrf a8f3b2c1d4e5f60718293a4b", "csrf 00ff00ff00ff00ff00ff00ff"),
        ("token Zx9kP2mQ7rT4vW8yB3nD6fH1", "token Qq1wE2rT3yU4iO5pA6sD7fG8"),
        ("12.05.2025", "13/06/2026"),
    ],
)
def test_volatile_parts_do_not_change_the_fingerprint(volatile, stable):
    assert mask_volatile(volatile) == mask_volatile(stable)
    assert content_hash(f"Body. {volatile}") == content_hash(f"Body. {stable}")


@pytest.mark.parametrize(
    "before, after",
    [
        ("Price £349.00", "Price £329.00"),
        ("SKU AB-1234", "SKU AB-1235"),
        ("Call 0161 496 0000", "Call 0161 496 0001"),
        ("In stock: 12 left", "In stock: 2 left"),
        ("Version 2.3.1", "Version 2.3.2"),
    ],
)
def test_facts_still_change_the_fingerprint(before, after):
    assert content_hash(before) != content_hash(after)


NAV = "Home Shop Blog About Contact Careers"
PROMO = "Summer sale: twenty percent off every anvil"


def observed(pages: list[list[str]]) -> SiteTemplate:
    template = SiteTemplate()
    for blocks in pages:
        template.observe(blocks)
    return template


@pytest.mark.parametrize(
    "pages, block, expected",
    [
        ([[NAV, f"page {i} text with its own words"] for i in range(MIN_PAGES)], NAV, True),
        (
            [[NAV, f"page {i} text with its own words"] for i in range(MIN_PAGES - 1)],
            NAV,
            False,
        ),  # too few pages
        ([[NAV]] * 2 + [["other words on the page"]] * 8, NAV, False),  # on 2 of 10 pages
        ([[PROMO]] * 3 + [["other words on the page"]] * 7, PROMO, True),  # 3 of 10 pages
        (
            [[PROMO]] * 3 + [["other words on the page"]] * 37,
            PROMO,
            False,
        ),  # 3 of 40: under MIN_SHARE
        ([["In stock now"]] * 10, "In stock now", False),  # short blocks are facts, never template
        (
            [[f"Posted May {i}, 2025 by the editor team"] for i in range(1, 8)],
            "Posted May 9, 2025 by the editor team",
            True,
        ),  # volatile parts masked in the key
    ],
)
def test_template_blocks_repeat_on_a_share_of_the_pages(pages, block, expected):
    assert observed(pages).is_template(block_key(block)) is expected


def test_a_block_counts_once_per_page_and_the_template_survives_json():
    template = observed([[NAV, NAV, f"unique text number {i} here"] for i in range(6)])
    assert template.counts[block_key(NAV)] == 6
    again = SiteTemplate.from_json(template.to_json())
    assert again.pages == 6 and again.is_template(block_key(NAV))
    assert block_key("unique text number 1 here") not in again.counts  # seen once: not kept
    assert template.strip(["Body of the page", NAV]) == ["Body of the page"]


def test_versions_differing_only_in_template_blocks_are_the_same_content():
    template = observed([[NAV, PROMO, f"unique words for page {i}"] for i in range(10)])
    body = [block_key("The body of the page, long enough")]
    before = [block_key("Old navigation links in the header"), *body]
    assert same_content(before + [block_key(PROMO)], [block_key(NAV), *body], template) is False
    assert same_content([block_key(NAV), *body], [block_key(PROMO), *body], template) is True
    assert same_content(body, [block_key("The body of the page, now changed")], template) is False


def test_page_main_content_drops_the_learned_template_lines():
    template = observed(
        [["Does the anvil need a stand?", f"unique words for page {i}"] for i in range(10)]
    )
    text, markdown = page_main_content(SHOP, template)
    assert "Does the anvil need a stand?" not in text and "hardwood stump" in text
    assert text.startswith("Forge Anvil 50 kg") and markdown.startswith("# Forge Anvil 50 kg")
    assert page_main_content(SHOP)[0].count("Does the anvil need a stand?") == 1


@pytest.mark.parametrize(
    "html, expected",
    [
        ("", ""),
        ("<html></html>", ""),
        (
            (
                '<?xml version="1.0" encoding="utf-8"?><html><body><h1>Title</h1>'
                "<p>Some words in a paragraph of the page.</p></body></html>"
            ),
            "Title\nSome words in a paragraph of the page.",
        ),
    ],
)
def test_odd_pages_give_text_or_nothing_never_an_error(html, expected):
    assert page_main_content(html)[0] == expected


class _CountedHashes(tuple[str, ...]):
    hashes = 0

    def __hash__(self) -> int:
        type(self).hashes += 1
        return super().__hash__()


def test_the_every_language_stoplist_is_found_by_identity_not_hashed_per_call(monkeypatch):
    """jusText found trafilatura's every-language stoplist (154,484 words) in its cache by
    hashing it on every call; the stage hashes it once. The set is the one jusText builds, and
    any other stoplist is lower-cased and frozen by jusText as before."""
    every = _CountedHashes(
        trafilatura.external.JT_STOPLIST or trafilatura.external.jt_stoplist_init()
    )
    monkeypatch.setattr(trafilatura.external, "JT_STOPLIST", every)
    found = [justext.core.define_stoplist(every) for _ in range(3)]
    assert _CountedHashes.hashes <= 1
    assert found[0] is found[1] is found[2]
    assert found[0] == frozenset(word.lower() for word in every)
    assert justext.core.define_stoplist(("The", "und")) == frozenset({"the", "und"})

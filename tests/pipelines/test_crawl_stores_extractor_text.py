"""The crawl stores what the extractor finds: a shop-and-blog site with one shared template
(header menu, a box of popular posts and a newsletter inside `<main>`, which the page-level
extractors keep, footer) is crawled through the real
pipeline from 127.0.0.1, and each page's `website_content` text is the main-content extractor's
output for the page as served (`content.main_content.page_content`, the function `omni
extract` reports), less only the site's template lines. Scored against each page's own text,
the stored text is never worse than `omni extract`'s on the same page."""
# ruff: noqa: E501 - its page fixtures are written as a site serves them; a line break
# inside one would change the page under test

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Callable

import pytest

from content.charset import decode_html
from content.main_content import page_content
from db import site_templates
from interfaces.cli.extract_cmd import report
from tests.support.crawl_fixtures import crawl
from tests.support.testsite import TestSite

ARTICLES, PRODUCTS = 8, 6
VOCABULARY = [
    "glaze",
    "kiln",
    "clay",
    "wheel",
    "stoneware",
    "porcelain",
    "slip",
    "trim",
    "bisque",
    "firing",
    "cone",
    "studio",
    "potter",
    "bowl",
    "mug",
    "jug",
    "vase",
    "handle",
    "rim",
    "foot",
    "throw",
    "centre",
    "wedge",
    "reclaim",
    "oxide",
    "ash",
    "celadon",
    "tenmoku",
    "shino",
    "raku",
    "saggar",
    "pinch",
    "coil",
    "slab",
    "mould",
    "plaster",
    "sponge",
    "rib",
    "needle",
    "wire",
    "bat",
    "banding",
    "wax",
    "resist",
]
POPULAR = [
    "How to centre clay on the wheel without tears",
    "Five glazes that behave well in an electric kiln",
    "Why your mug handles crack and how to stop it",
]
NEWSLETTER = "Join the studio letter for firing notes, open days and seconds sales every month."


def prose(seed: int, sentences: int = 4) -> list[str]:
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(18, 30))).capitalize() + "."
        for _ in range(sentences)
    ]


def shell(title: str, main: str, *, head: str = "") -> bytes:
    menu = "".join(
        f'<li><a href="{href}">{name}</a></li>'
        for href, name in [
            ("/", "Home"),
            ("/collections/mugs", "Shop"),
            ("/blog/0", "Blog"),
            ("/services/workshops", "Workshops"),
        ]
    )
    popular = "".join(f'<li><a href="/blog/{i}">{name}</a></li>' for i, name in enumerate(POPULAR))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} | Kiln Lane</title>
{head}</head><body>
<header><a href="/">Kiln Lane Pottery</a><nav><ul>{menu}</ul></nav></header>
<main>{main}
<div class="more"><h3>Popular posts</h3><ul>{popular}</ul>
<p>{NEWSLETTER}</p><form><input name="email"><button>Sign up</button></form></div></main>
<footer><p>Kiln Lane Pottery, Unit 4 Kiln Lane, Stoke-on-Trent ST1 4AB. Open Tuesday to Saturday.</p></footer>
</body></html>""".encode()


def article(i: int) -> tuple[bytes, str]:
    title = f"Studio note {i}: {VOCABULARY[i]} and {VOCABULARY[i + 9]}"
    body = prose(i)
    main = (
        f"<article><h1>{title}</h1><p class='byline'>By Ada Potter</p>"
        + "".join(f"<p>{p}</p>" for p in body)
        + "</article>"
    )
    return shell(title, main, head='<meta property="og:type" content="article">'), "\n".join(
        [title, "By Ada Potter", *body]
    )


def product(i: int) -> tuple[bytes, str]:
    name = f"Stoneware {VOCABULARY[i + 20]} mug {i}"
    description = prose(100 + i, 2)
    ld = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": name,
        "sku": f"KL-{i:03d}",
        "offers": {
            "@type": "Offer",
            "price": f"{18 + i}.00",
            "priceCurrency": "GBP",
            "availability": "https://schema.org/InStock",
        },
    }
    specs = [
        ("Capacity", f"{300 + 10 * i} ml"),
        ("Glaze", VOCABULARY[i + 24]),
        ("Dishwasher safe", "Yes"),
    ]
    main = (
        f"<div class='product'><h1>{name}</h1><p class='price'>£{18 + i}.00</p><p>In stock</p>"
        + "".join(f"<p>{p}</p>" for p in description)
        + "<table>"
        + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in specs)
        + "</table>"
        "<button class='add-to-cart'>Add to cart</button></div>"
    )
    head = f'<script type="application/ld+json">{json.dumps(ld)}</script>'
    return shell(name, main, head=head), "\n".join(
        [name, f"£{18 + i}.00", "In stock", *description, *(f"{k} {v}" for k, v in specs)]
    )


def collection() -> tuple[bytes, str]:
    cards = [
        (f"/products/{i}", f"Stoneware {VOCABULARY[i + 20]} mug {i}", f"£{18 + i}.00")
        for i in range(PRODUCTS)
    ]
    main = (
        "<h1>Mugs</h1><p>Every mug is thrown, trimmed and glazed by hand in the studio.</p>"
        "<ul class='products'>"
        + "".join(
            f"<li class='product-card'><a href='{href}'><h2>{name}</h2></a>"
            f"<span class='price'>{price}</span></li>"
            for href, name, price in cards
        )
        + "</ul>"
    )
    gold = [
        "Mugs",
        "Every mug is thrown, trimmed and glazed by hand in the studio.",
        *(f"{name} {price}" for _, name, price in cards),
    ]
    return shell("Mugs", main), "\n".join(gold)


def service(slug: str, seed: int) -> tuple[bytes, str]:
    sections = [
        (f"{slug.capitalize()} {part}", prose(seed + k, 2))
        for k, part in enumerate(["for beginners", "for groups", "prices and booking"])
    ]
    main = f"<h1>{slug.capitalize()} at Kiln Lane</h1>" + "".join(
        f"<section><h2>{h}</h2>" + "".join(f"<p>{p}</p>" for p in ps) + "</section>"
        for h, ps in sections
    )
    gold = [f"{slug.capitalize()} at Kiln Lane"] + [line for h, ps in sections for line in (h, *ps)]
    return shell(f"{slug.capitalize()}", main), "\n".join(gold)


def site() -> dict[str, tuple[bytes, str]]:
    pages = {f"/blog/{i}": article(i) for i in range(ARTICLES)}
    pages |= {f"/products/{i}": product(i) for i in range(PRODUCTS)}
    pages["/collections/mugs"] = collection()
    pages["/services/workshops"] = service("workshops", 200)
    pages["/services/commissions"] = service("commissions", 300)
    links = "".join(f'<li><a href="{path}">{path}</a></li>' for path in pages)
    pages["/"] = (shell("Home", f"<h1>Kiln Lane Pottery</h1><ul>{links}</ul>"), "")
    return pages


def word_f1(gold: str, text: str) -> float:
    """WCXB's metric (bench/extraction_quality.py): bag-of-words F1 of lower-cased words."""
    got, want = Counter(re.findall(r"\w+", text.lower())), Counter(re.findall(r"\w+", gold.lower()))
    shared = sum((got & want).values())
    if not shared:
        return 0.0
    precision, recall = shared / sum(got.values()), shared / sum(want.values())
    return 2 * precision * recall / (precision + recall)


@pytest.fixture
def pottery(db, serve_pages: Callable[[dict[str, bytes]], TestSite]) -> TestSite:
    return serve_pages({path: body for path, (body, _) in site().items()})


def test_each_stored_page_is_the_extractors_text_less_the_template(pottery, db):
    stats = crawl(pottery.domain)
    assert stats["status"] == "completed", stats
    stored = {
        r["url"]: r
        for r in db.execute(
            "SELECT w.url, w.content, w.content_type, w.domain_id FROM website_content w"
        )
    }
    pages = {path: gold for path, (_, gold) in site().items() if gold}
    assert {pottery.url(path) for path in pages} <= set(stored)
    template = site_templates.load(db, str(next(iter(stored.values()))["domain_id"]))
    assert template.pages >= len(pages)

    crawled, direct = [], []
    for path, gold in pages.items():
        url, row = pottery.url(path), stored[pottery.url(path)]
        served = decode_html(pottery.pages[path], "text/html; charset=utf-8")
        found = page_content(served, url, template)
        assert row["content"] == found.text, path  # the stage's text, nothing dropped or added
        assert row["content_type"] == found.page_type, path
        extracted = report(served, url, chunks=False)  # omni extract: no site template
        assert extracted["page_type"] == found.page_type, path
        crawled.append(word_f1(gold, row["content"]))
        direct.append(word_f1(gold, extracted["text"]))
        assert crawled[-1] >= direct[-1], (path, row["content"], extracted["text"])
        for line in (*POPULAR, NEWSLETTER):
            assert line not in row["content"], path  # the shared template is gone
    assert stored[pottery.url("/products/1")]["content_type"] == "product"
    assert stored[pottery.url("/collections/mugs")]["content_type"] == "collection"
    # the extractor alone keeps the template box on some pages; the crawl's text does not
    assert sum(c > d for c, d in zip(crawled, direct, strict=True)) >= PRODUCTS
    assert sum(crawled) / len(crawled) > 0.85

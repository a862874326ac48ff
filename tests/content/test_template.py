"""Site-level template on a real multi-page site: blocks the page-level extractor keeps (a promo
bar, a newsletter box and rotating "related products" inside the article) are learned from the
domain's pages and removed from the stored content; a re-crawl whose pages changed only in the
template or in volatile parts (dates, view counters, tokens) rewrites and enqueues nothing."""
# ruff: noqa: E501 - its page fixtures are written as a site serves them; a line break
# inside one would change the page under test

from __future__ import annotations

import random

import pytest

from content.main_content import main_text
from tests.support import testsite
from tests.support.crawl_fixtures import crawl

ARTICLES = 12
PROMO = "Summer sale: every anvil is twenty percent off this month, with free delivery over fifty pounds."
NEWSLETTER = "Join our newsletter for weekly smithing tips, new arrivals and members-only offers."
RELATED = [
    f"{name} anvil, {kg} kg, a sturdy choice for the home forge at £{price}.00"
    for name, kg, price in [
        ("Blue", 5, 45),
        ("Red", 10, 80),
        ("Green", 20, 140),
        ("Black", 35, 210),
        ("Grey", 50, 320),
        ("White", 75, 455),
    ]
]
WORDS = [
    "hammer",
    "tongs",
    "forge",
    "steel",
    "iron",
    "heat",
    "quench",
    "temper",
    "scale",
    "horn",
    "face",
    "hardy",
    "punch",
    "drift",
    "chisel",
    "billet",
    "flux",
    "weld",
    "coal",
    "coke",
    "bellows",
    "anvil",
    "ring",
    "rebound",
    "mass",
    "stand",
    "stump",
    "height",
    "grain",
    "carbon",
    "spring",
    "leaf",
    "rasp",
    "file",
    "vise",
    "swage",
    "fuller",
    "flatter",
    "set",
    "block",
    "cone",
]


def article(i: int) -> list[str]:
    rng = random.Random(i)
    return [" ".join(rng.choice(WORDS) for _ in range(40)).capitalize() + "." for _ in range(3)]


def page(i: int, *, crawl_no: int, body: list[str] | None = None) -> bytes:
    """Article i as served at the crawl_no-th version of the site: the template parts (menu,
    footer, related products, date, views, token) vary between versions; the article does not."""
    rng = random.Random(1000 * crawl_no + i)
    related = "".join(f"<li>{item}</li>" for item in rng.sample(RELATED, 3))
    menu = "".join(f'<a href="/a/{j}">Article {j}</a> ' for j in range(ARTICLES))
    token = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    paragraphs = "".join(f"<p>{p}</p>" for p in (body or article(i)))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Smithing note {i}</title>
<meta name="csrf-token" content="{token}"></head><body>
<header><a href="/">Forge notes</a><nav>{menu}<a href="/new-{crawl_no}">New in version {crawl_no}</a></nav></header>
<main><article><h1>Smithing note {i}</h1>
<p class="byline">Posted on May {1 + (i + crawl_no) % 27}, 202{crawl_no} at 1{crawl_no}:0{i % 10} · {rng.randint(100, 9999)} views</p>
{paragraphs}
<p>{PROMO}</p>
<h3>You might also like these</h3><ul>{related}</ul>
<p>{NEWSLETTER}</p>
<form method="post"><input type="hidden" name="csrf" value="{token}"><input name="email"><button>Sign up</button></form>
</article></main>
<footer><p>© 202{crawl_no} Forge notes · {rng.randint(1, 99)} people online</p></footer></body></html>""".encode()


def site_pages(crawl_no: int) -> dict[str, bytes]:
    pages = {f"/a/{i}": page(i, crawl_no=crawl_no) for i in range(ARTICLES)}
    links = "".join(f'<li><a href="/a/{i}">Smithing note {i}</a></li>' for i in range(ARTICLES))
    pages["/"] = (
        f"<!doctype html><html lang='en'><head><title>Forge notes</title></head><body><main>"
        f"<h1>Forge notes</h1><p>Notes from a small smithy about tools and technique.</p>"
        f"<ul>{links}</ul></main></body></html>"
    ).encode()
    return pages


@pytest.fixture
def blog(db, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OMNI_LOG_LEVEL", "INFO")
    site = testsite.start(testsite.TestSite(pages=site_pages(1)))
    yield site
    site.server.shutdown()
    site.server.server_close()


def contents(db) -> dict[str, dict]:
    return {
        r["url"].rsplit("/", 2)[-2] + "/" + r["url"].rsplit("/", 1)[-1]: r
        for r in db.execute(
            "SELECT url, content, content_hash, updated_at FROM website_content WHERE url LIKE "
            "'%%/a/%%'"
        )
    }


def pages_without_main_content(db) -> int:
    """HTML pages whose current version the main-content stage has not done."""
    return db.execute(
        "SELECT count(*) AS n FROM scraped_pages WHERE html IS NOT NULL AND "
        "(metadata->>'main_content') IS DISTINCT FROM metadata->>'content_hash'"
    ).fetchone()["n"]


def template_words_in(text: str) -> list[str]:
    return [w for w in (PROMO, NEWSLETTER, *RELATED) if w in text]


def test_the_page_level_extractor_keeps_the_template():
    html = page(0, crawl_no=1).decode()
    assert template_words_in(main_text(html))  # what the site-level step is needed for


def test_template_is_learned_removed_and_template_only_changes_are_unchanged(
    blog, db, redis_client
):
    first = crawl(blog.domain)
    assert first["status"] == "completed", first
    assert first["new"] >= ARTICLES + 1
    assert first["main_content_pages"] >= ARTICLES + 1  # the stage ran when the crawl closed
    assert pages_without_main_content(db) == 0
    stored = contents(db)
    assert len(stored) == ARTICLES
    for key, row in stored.items():
        i = int(key.split("/")[1])
        for paragraph in article(i):
            assert paragraph in row["content"], key  # the article stays whole
        assert template_words_in(row["content"]) == [], key  # promo, newsletter, related: gone
        assert f"Smithing note {i}" in row["content"]
    pattern = db.execute(
        "SELECT selectors, success_count FROM domain_patterns WHERE pattern_type = 'template'"
    ).fetchone()
    assert pattern["success_count"] >= ARTICLES + 1 and pattern["selectors"]["blocks"]
    jobs_before = db.execute(
        "SELECT count(*) AS n FROM content_refresh_jobs WHERE job_type <> 'crawl'"
    ).fetchone()["n"]
    redis_client.flushdb()

    # every article changes in its template and volatile parts only: menu, footer, related
    # products, date, views, CSRF token. Served as 200s (new ETags), all are unchanged.
    blog.pages.update(site_pages(2))
    blog.requests.clear()
    second = crawl(blog.domain)
    assert second["status"] == "completed", second
    fetched = [r for r in blog.requests if r.path.startswith("/a/")]
    assert len(fetched) == ARTICLES and all(r.status == 200 for r in fetched)
    assert second["new"] == 0 and second["changed"] == 0, [
        (r["url"], r["content"])
        for r in db.execute(
            "SELECT url, content FROM scraped_pages WHERE metadata->>'change' = 'changed'"
        )
    ]
    assert second.get("main_content_pages", 0) == 0  # no page to extract again
    assert contents(db) == stored  # nothing rewritten (same content, hash, updated_at)
    assert (
        db.execute(
            "SELECT count(*) AS n FROM content_refresh_jobs WHERE job_type <> 'crawl'"
        ).fetchone()["n"]
        == jobs_before
    )
    assert redis_client.llen("dramatiq:extract") == 0

    # a real change in one article is a change, stored without the template
    changed = article(3)[:2] + ["The anvil now ships with a hardwood stand and a steel hardy tool."]
    blog.pages["/a/3"] = page(3, crawl_no=3, body=changed)
    third = crawl(blog.domain)
    assert third["changed"] == 1 and third["new"] == 0, third
    assert third["main_content_pages"] == 1 and pages_without_main_content(db) == 0
    row = contents(db)["a/3"]
    assert "hardwood stand" in row["content"] and template_words_in(row["content"]) == []

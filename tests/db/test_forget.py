"""db.forget.forget_pages: the one path by which a page leaves search."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from db import tenants
from db.forget import CATALOG_SOURCE, forget_pages
from tests.support.knowledge import give_knowledge, knowledge, searched_urls
from workers.catalog.model import API_SOURCE

DOMAIN = "forget.example"
URL = "https://forget.example/wave.html"
KEPT = "https://forget.example/audio.html"


def stored(db, domain_id, url: str, text: str) -> None:
    db.execute(
        "INSERT INTO scraped_pages (domain_id, url, title, content, html, status, metadata) "
        "VALUES (%s, %s, 'Page', %s, '<p>x</p>', 'gone', %s)",
        (
            domain_id,
            url,
            text,
            Jsonb(
                {
                    "etag": '"e1"',
                    "content_hash": "h-" + text,
                    "blocks": ["b"],
                    "depth": 2,
                    "dead_count": 2,
                }
            ),
        ),
    )
    db.execute(
        "INSERT INTO page_content_references (domain_id, source_url, target_url) "
        "VALUES (%s, %s, %s)",
        (domain_id, url, KEPT),
    )


def test_forget_removes_every_row_search_reads_and_keeps_the_urls_memory(db):
    domain_id = tenants.add_domain(db, DOMAIN)["id"]
    stored(db, domain_id, URL, "wave")
    stored(db, domain_id, KEPT, "audio")
    for url in (URL, KEPT):
        give_knowledge(db, domain_id, url)
    # the shop API's own extraction for the URL belongs to the catalogue sync
    db.execute(
        "INSERT INTO structured_extractions (domain_id, url, extract_type, extracted_data, "
        "schema_used) VALUES (%s, %s, 'product', '{}', %s)",
        (domain_id, URL, Jsonb({"source": CATALOG_SOURCE})),
    )
    db.execute(
        "INSERT INTO content_hashes (domain_id, content_hash, canonical_url, urls, "
        "occurrence_count) "
        "VALUES (%s, 'shared', %s, %s, 2), (%s, 'only', %s, %s, 1)",
        (domain_id, URL, [KEPT, URL], domain_id, URL, [URL]),
    )
    assert URL in searched_urls(db, DOMAIN, URL)

    done = forget_pages(db, domain_id, [URL, "https://forget.example/never-stored"], "HTTP 404")

    assert (
        done.pages,
        done.embeddings,
        done.website_content,
        done.optimized,
        done.extractions,
    ) == (1, 3, 1, 1, 1)
    assert knowledge(db, domain_id, URL) == {
        "embeddings": 0,
        "website_content": 0,
        "optimized": 0,
        "extractions": 1,
    }
    assert URL not in searched_urls(db, DOMAIN, URL)
    assert knowledge(db, domain_id, KEPT) == {
        "embeddings": 3,
        "website_content": 1,
        "optimized": 1,
        "extractions": 1,
    }
    row = db.execute(
        "SELECT status, content, html, metadata FROM scraped_pages WHERE url = %s", (URL,)
    ).fetchone()
    assert row["status"] == "gone" and row["content"] is None and row["html"] is None
    meta = row["metadata"]
    assert meta["forgotten_reason"] == "HTTP 404" and meta["forgotten_at"]
    assert not {"etag", "content_hash", "blocks"} & meta.keys()  # it comes back as new
    assert meta["depth"] == 2 and meta["dead_count"] == 2  # the URL's memory stays
    hashes = {
        r["content_hash"]: r
        for r in db.execute(
            "SELECT content_hash, canonical_url, urls, occurrence_count FROM content_hashes"
        )
    }
    assert hashes.keys() == {"shared"}
    assert (
        hashes["shared"]["urls"],
        hashes["shared"]["canonical_url"],
        hashes["shared"]["occurrence_count"],
    ) == ([KEPT], KEPT, 1)
    assert (
        db.execute(
            "SELECT count(*) AS n FROM page_content_references WHERE source_url = %s", (URL,)
        ).fetchone()["n"]
        == 0
    )

    again = forget_pages(db, domain_id, [URL], "HTTP 404")
    assert (again.embeddings, again.website_content) == (0, 0)


def test_the_catalogue_source_name_is_the_catalogue_syncs():
    assert CATALOG_SOURCE == API_SOURCE

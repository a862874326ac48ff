"""URLs the crawler remembers without content are not stale content and not refreshed."""

from __future__ import annotations

import os

from db import tenants
from workers.broker import setup_broker
from workers.refresh import queue_refresh


def test_remembered_urls_are_not_stale_content_nor_refreshed(db, redis_client):

    setup_broker(os.environ["REDIS_URL"])
    shop = tenants.add_domain(db, "memory.test")["id"]
    rows = [
        ("page", "scraped", "{}"),
        ("print", "duplicate", '{"canonical_of": "https://memory.test/page"}'),
        ("old", "redirect", '{"canonical_of": "https://memory.test/page"}'),
        ("cal", "skipped", "{}"),
        ("dead", "failed", '{"next_check_at": "2999-01-01T00:00:00+00:00"}'),
        ("dead-due", "failed", '{"next_check_at": "2000-01-01T00:00:00+00:00"}'),
    ]
    for path, status, meta in rows:
        db.execute(
            "INSERT INTO scraped_pages (domain_id, url, status, metadata, scraped_at) "
            "VALUES (%s, %s, %s, %s::jsonb, now() - interval '30 days')",
            (shop, f"https://memory.test/{path}", status, meta),
        )
    stale = db.execute(
        "SELECT url FROM get_stale_content('memory.test', interval '7 days')"
    ).fetchall()
    assert sorted(r["url"].rsplit("/", 1)[1] for r in stale) == ["dead-due", "page"]
    (job_id,) = queue_refresh(db, "memory.test", "extract")
    page_ids = db.execute(
        "SELECT metadata->'page_ids' AS ids FROM content_refresh_jobs WHERE id = %s", (job_id,)
    ).fetchone()["ids"]
    urls = {
        r["url"].rsplit("/", 1)[1]
        for r in db.execute("SELECT url FROM scraped_pages WHERE id = ANY(%s::uuid[])", (page_ids,))
    }
    assert urls == {"page", "dead", "dead-due"}

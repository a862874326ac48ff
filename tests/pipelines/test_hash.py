from __future__ import annotations

from crawlers.state import KnownPage
from pipelines.extract import ExtractPipeline
from pipelines.hash import HashPipeline
from tests.pipelines.conftest import SITE, page_item, run_pipelines

TEXT = "<h1>Delivery</h1><p>We deliver every order within three working days.</p>"


def test_hash_pipeline_classifies_pages_and_records_their_hashes(crawler, db):
    items = [
        page_item("/delivery", TEXT),
        page_item("/delivery-print", TEXT),
        page_item("/returns", "<h1>Returns</h1><p>Send it back within thirty days.</p>"),
        {"kind": "unchanged", "url": SITE + "/old", "status": "scraped"},
    ]
    out = run_pipelines(crawler, [ExtractPipeline, HashPipeline], items)
    assert [(item.get("change"), item.get("duplicate_of")) for item in out] == [
        ("new", None),
        ("duplicate", SITE + "/delivery"),
        ("new", None),
        (None, None),
    ]
    assert out[0]["content_hash"] == out[1]["content_hash"] != out[2]["content_hash"]
    rows = db.execute(
        "SELECT content_hash, canonical_url, urls, occurrence_count "
        "FROM content_hashes ORDER BY canonical_url"
    ).fetchall()
    assert [(r["canonical_url"], r["urls"], r["occurrence_count"]) for r in rows] == [
        (SITE + "/delivery", [SITE + "/delivery", SITE + "/delivery-print"], 2),
        (SITE + "/returns", [SITE + "/returns"], 1),
    ]


def test_a_forced_crawl_treats_unchanged_text_as_changed(crawler, db):
    first = run_pipelines(crawler, [ExtractPipeline, HashPipeline], [page_item("/a", TEXT)])[0]
    state = crawler.spider.state
    state.known[SITE + "/a"] = KnownPage("1", "scraped", None, None, first["content_hash"], 0)
    # a new crawl: new pipelines (the hash step's first-URL map is its own)
    again = run_pipelines(crawler, [ExtractPipeline, HashPipeline], [page_item("/a", TEXT)])[0]
    assert again["change"] == "unchanged"
    state.force = True
    forced = run_pipelines(crawler, [ExtractPipeline, HashPipeline], [page_item("/a", TEXT)])[0]
    assert forced["change"] == "changed"

from __future__ import annotations

from crawlers.crawl_stats import job_stats
from pipelines.extract import ExtractPipeline
from pipelines.hash import HashPipeline
from pipelines.store import StorePipeline
from tests.pipelines.conftest import SITE, page_item, run_pipelines


def test_store_pipeline_writes_rows_and_counts_outcomes(crawler, db):
    state = crawler.spider.state
    state.trap_skipped[SITE + "/cal/2031"] = ("crawler trap: chain", 4)
    items = [
        page_item("/a", "<p>The first page of the shop.</p>"),
        page_item("/b", "<p>The second page of the shop.</p>"),
        page_item("/a-copy", "<p>The first page of the shop.</p>"),
        {
            "kind": "failed",
            "url": SITE + "/broken",
            "error": "HTTP 500",
            "http_status": 500,
            "depth": 1,
        },
    ]
    out = run_pipelines(crawler, [ExtractPipeline, HashPipeline, StorePipeline], items)
    assert all("html" not in item for item in out)
    rows = {
        r["url"]: r
        for r in db.execute(
            "SELECT url, status, error_message, metadata->>'change' AS change FROM scraped_pages"
        )
    }
    assert {url: (r["status"], r["change"]) for url, r in rows.items()} == {
        SITE + "/a": ("scraped", "new"),
        SITE + "/b": ("scraped", "new"),
        SITE + "/a-copy": ("duplicate", "duplicate"),
        SITE + "/broken": ("failed", None),
        SITE + "/cal/2031": ("skipped", None),
    }
    assert rows[SITE + "/broken"]["error_message"] == "HTTP 500"
    content = db.execute("SELECT count(*) AS n FROM website_content").fetchone()["n"]
    assert content == 0  # an HTML page's website_content is the main-content stage's to write
    stats = job_stats(crawler.stats.get_stats(), 0.0, 0.0)
    assert (stats["new"], stats["duplicate"], stats["failed"]) == (2, 1, 1)
    # the new pages' items are marked for the enqueue step; the others are not
    assert {item["url"] for item in out if item.get("awaits_jobs")} == {SITE + "/a", SITE + "/b"}
    assert state.errors == []

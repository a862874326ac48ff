"""The frontier past its memory bound waits on disk (crawlers/scheduler.py): the real spider in
a subprocess, with the bound set low."""

from __future__ import annotations

from tests.support.crawl_fixtures import crawl_ok
from tests.support.shop_site import numbered_shop


def test_a_frontier_past_its_bound_spills_to_disk_and_the_crawl_is_whole(
    db, serve_site, monkeypatch, tmp_path
):
    monkeypatch.setenv("OMNI_CRAWL_FRONTIER_MEMORY", "20")
    monkeypatch.setenv("OMNI_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("OMNI_CRAWL_MAX_DEPTH", "100")  # the listings are a chain of 16
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the disk queue lives
    site = serve_site(numbered_shop(400, sitemap_share=0.5))
    stats = crawl_ok(site.domain)
    stored = db.execute(
        "SELECT count(*) AS n FROM scraped_pages WHERE status = 'scraped' AND url LIKE %s",
        (site.url("/p/%"),),
    ).fetchone()["n"]
    assert stored == 400
    assert stats["frontier_spilled"] >= 150  # the 200 sitemap items did not fit in 20
    # the queue's directory went with the crawl (Chromium keeps its own files under TMPDIR)
    assert list(tmp_path.glob("omni-frontier-*")) == []

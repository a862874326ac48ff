"""The job's stats from Scrapy's stats collector (crawlers/crawl_stats.py)."""

from __future__ import annotations

import pytest
from scrapy.statscollectors import MemoryStatsCollector

from crawlers.crawl_stats import ALWAYS, count, job_stats, record
from tests.support.crawler import make_crawler

JOB_STATS_CASES = [
    # (collected, expected subset of the job's stats)
    ({}, {"pages_seen": 0, "new": 0, "bytes": 0, "duration_s": 2.5}),
    ({"omni/pages_seen": 3, "omni/bytes": 900}, {"pages_seen": 3, "bytes": 900}),
    (
        {"omni/browser_blocked_script": 2, "downloader/request_count": 9},
        {"browser_blocked_script": 2},
    ),
    ({"omni/jobs_enqueued": 0}, {"jobs_enqueued": 0}),
]


@pytest.mark.parametrize(("collected", "expected"), JOB_STATS_CASES)
def test_job_stats(collected, expected):
    stats = job_stats(collected, started=10.0, now=12.5)
    assert stats.items() >= expected.items()
    assert set(ALWAYS) <= set(stats)
    assert not any("/" in key for key in stats)  # Scrapy's own stats stay out of the job's
    assert stats["duration_s"] == 2.5


def test_counters_go_through_the_crawlers_stats_collector():
    crawler = make_crawler()
    assert isinstance(crawler.stats, MemoryStatsCollector)
    count(crawler.stats, "new")
    count(crawler.stats, "new")
    count(crawler.stats, "bytes", 1200)
    record(crawler.stats, "scheduled", 7)
    record(crawler.stats, "scheduled", 8)
    assert {k: v for k, v in crawler.stats.get_stats().items() if k.startswith("omni/")} == {
        "omni/new": 2,
        "omni/bytes": 1200,
        "omni/scheduled": 8,
    }

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.crawl.testsite import TestSite, default_pages, start


@pytest.fixture
def site(db, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestSite]:
    """A fresh test site on 127.0.0.1 (and an emptied database); crawls in subprocesses inherit
    the small limits set here."""
    monkeypatch.setenv("OMNI_CRAWL_PATTERN_LIMIT", "5")
    monkeypatch.setenv("OMNI_CRAWL_MAX_BYTES", "200000")
    monkeypatch.setenv("OMNI_CRAWL_DOWNLOAD_TIMEOUT", "20")
    monkeypatch.setenv("OMNI_LOG_LEVEL", "INFO")
    test_site = start(TestSite(pages=default_pages()))
    yield test_site
    test_site.server.shutdown()
    test_site.server.server_close()


def crawl(domain: str) -> dict:
    from crawlers.run import create_crawl_job, run_crawl_subprocess

    _, job_id = create_crawl_job(domain)
    return run_crawl_subprocess(job_id, timeout=240)

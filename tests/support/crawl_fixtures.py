"""Fixtures for crawl tests: the small test site, generated shop and blog sites, and crawling a
domain in a subprocess the way the crawl job does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import pytest

from crawlers.run import create_crawl_job, run_crawl_subprocess
from tests.support.shop_site import Site, serve, stop
from tests.support.testsite import Handler, TestSite, default_pages, start


def start_test_site(monkeypatch: pytest.MonkeyPatch) -> TestSite:
    """Serve a fresh test site on 127.0.0.1; crawls in subprocesses inherit the small limits set
    here (undone with the monkeypatch)."""
    monkeypatch.setenv("OMNI_CRAWL_PATTERN_LIMIT", "5")
    monkeypatch.setenv("OMNI_CRAWL_MAX_BYTES", "200000")
    monkeypatch.setenv("OMNI_CRAWL_DOWNLOAD_TIMEOUT", "20")
    monkeypatch.setenv("OMNI_LOG_LEVEL", "INFO")
    return start(TestSite(pages=default_pages()))


def stop_test_site(test_site: TestSite) -> None:
    test_site.server.shutdown()
    test_site.server.server_close()


@contextmanager
def serving(pages: dict[str, bytes], handler: type[Handler] = Handler) -> Iterator[TestSite]:
    """These pages served on 127.0.0.1 for the block (by `handler`, the test site's own or a
    subclass that misbehaves on purpose)."""
    test_site = start(TestSite(pages=pages), handler)
    try:
        yield test_site
    finally:
        stop_test_site(test_site)


@pytest.fixture
def serve_pages(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., TestSite]]:
    """Serve pages on 127.0.0.1 for the test (`serving`), crawled with INFO logs; stopped at
    its end."""
    monkeypatch.setenv("OMNI_LOG_LEVEL", "INFO")
    with ExitStack() as stack:
        yield lambda pages, handler=Handler: stack.enter_context(serving(pages, handler))


@pytest.fixture
def site(db, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestSite]:
    """A fresh test site (and an emptied database)."""
    test_site = start_test_site(monkeypatch)
    yield test_site
    stop_test_site(test_site)


def crawl(domain: str) -> dict:

    _, job_id = create_crawl_job(domain)
    return run_crawl_subprocess(job_id, timeout=240)


@pytest.fixture
def serve_site() -> Iterator[Callable[[Site], Site]]:
    """Serve a generated site (tests/support/shop_site) for the test; stopped at its end."""
    started: list[Site] = []

    def start_site(site: Site) -> Site:
        started.append(serve(site))
        return site

    yield start_site
    for site in started:
        stop(site)


def crawl_ok(domain: str) -> dict:
    stats = crawl(domain)
    assert stats["status"] == "completed", stats
    return stats

"""Fixtures for the extraction and optimisation tests: HTML pages and rows in the test database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import lxml.html
import psycopg
import pytest
import xxhash
from psycopg.types.json import Jsonb

from db import jobs
from db.tenants import add_domain

PAGES = Path(__file__).parent / "pages"  # the extraction tests' sample pages


def page_html(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


@pytest.fixture
def domain(db: psycopg.Connection) -> dict[str, Any]:

    return add_domain(db, "shop.test")


@pytest.fixture
def add_html_page(db: psycopg.Connection, domain: dict[str, Any]) -> Callable[..., str]:
    """Insert a scraped_pages row (and its website_content row) like the crawler does; returns its
    id."""

    def add(
        path: str,
        html: str | None = None,
        *,
        content: str | None = None,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
        website_content: bool = True,
    ) -> str:

        url = f"https://shop.test/{path.lstrip('/')}"
        content = content if content is not None else _text_of(html or "")
        row = db.execute(
            "INSERT INTO scraped_pages (domain_id, url, title, content, html, metadata, status, "
            "scraped_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, 'scraped', NOW()) "
            "ON CONFLICT (domain_id, url) DO UPDATE SET html = EXCLUDED.html, content = "
            "EXCLUDED.content, "
            "title = EXCLUDED.title, metadata = EXCLUDED.metadata RETURNING id::text AS id",
            (domain["id"], url, title, content, html, Jsonb(metadata or {})),
        ).fetchone()
        if website_content:
            db.execute(
                "INSERT INTO website_content (domain_id, url, title, content, content_hash, "
                "scraped_at) "
                "VALUES (%s, %s, %s, %s, %s, NOW()) ON CONFLICT (domain_id, url) DO UPDATE SET "
                "title = EXCLUDED.title, content = EXCLUDED.content, content_hash = "
                "EXCLUDED.content_hash",
                (domain["id"], url, title, content, xxhash.xxh3_128_hexdigest(content.encode())),
            )
        return row["id"]

    return add


def _text_of(html: str) -> str:

    if not html.strip():
        return ""
    tree = lxml.html.fromstring(html)
    for bad in tree.xpath("//script|//style"):
        bad.drop_tree()
    return "\n".join(line.strip() for line in tree.text_content().splitlines() if line.strip())


@pytest.fixture
def make_job(db: psycopg.Connection, domain: dict[str, Any]) -> Callable[..., dict[str, Any]]:

    def make(job_type: str, page_ids: list[str], **extra: Any) -> dict[str, Any]:
        job_id = jobs.create(db, domain["id"], job_type, {"page_ids": page_ids, **extra})
        return jobs.start(db, job_id)

    return make

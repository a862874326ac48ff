"""Item pipelines built by Scrapy (`build_from_crawler`) on a crawler with the project's settings
and a `site` spider for shop.example, on the real test database."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest
from scrapy.utils.misc import build_from_crawler

from tests.support.crawler import site_crawler

DOMAIN = "shop.example"
SITE = f"https://{DOMAIN}"


@pytest.fixture
def crawler(db):
    return site_crawler(DOMAIN)


def run(value: Any) -> Any:
    """A pipeline method's result, awaited if it is a coroutine."""
    return asyncio.run(value) if inspect.iscoroutine(value) else value


def run_pipelines(crawler: Any, classes: list[type], items: list[dict[str, Any]]) -> list[Any]:
    """Open each pipeline, pass every item through all of them in order, close them: the items
    that came out."""
    pipelines = [build_from_crawler(cls, crawler) for cls in classes]
    for pipeline in pipelines:
        if hasattr(pipeline, "open_spider"):
            run(pipeline.open_spider())
    out = []
    for item in items:
        for pipeline in pipelines:
            item = run(pipeline.process_item(item))
        out.append(item)
    for pipeline in pipelines:
        if hasattr(pipeline, "close_spider"):
            run(pipeline.close_spider())
    return out


def page_item(path: str, body: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "page",
        "url": SITE + path,
        "requested_url": SITE + path,
        "depth": 0,
        "http_status": 200,
        "etag": None,
        "last_modified": None,
        "render_mode": "static",
        "bytes": len(body),
        "download_s": 0.01,
        "links": [],
        "html": f"<html><head><title>{path}</title></head><body><main>{body}</main></body></html>",
        **extra,
    }

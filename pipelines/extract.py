"""Extract, the crawl's first step: each fetched page's text by the fast pass
(content/page_text.py), with the site template learned for the domain taken out."""

from __future__ import annotations

from typing import Any

import lxml.html

from content import template as site_template
from content.page_text import extract, without_template
from db import site_templates
from db.connection import get_pool


class ExtractPipeline:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.template = site_template.SiteTemplate()

    @classmethod
    def from_crawler(cls, crawler: Any) -> ExtractPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.domain_id = self.crawler.spider.state.domain_id
        with get_pool().connection() as conn:
            self.template = site_templates.load(conn, self.domain_id)

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        if item.get("kind") != "page":
            return item
        root = item.pop("root", None)
        if root is None:
            root = lxml.html.fromstring(item["html"])
        extracted = extract(root)
        item["block_keys"], item["fingerprint"] = without_template(extracted, self.template)
        item["extracted"] = extracted
        item["site_template"] = self.template
        return item

    def close_spider(self) -> None:
        if self.template.observed:
            with get_pool().connection() as conn:
                site_templates.save(conn, self.domain_id, self.template)

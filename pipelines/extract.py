"""Extract, the crawl's first step: each fetched page's text by the fast pass
(content/page_text.py), with the site template learned for the domain taken out, and whether
the page differs from its stored version only in template blocks (content/template.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parsel import Selector

from content import template as site_template
from content.page_text import extract, without_template
from crawlers.items import PageItem
from crawlers.state import state_of
from db import site_templates
from db.connection import get_pool

if TYPE_CHECKING:
    from lxml.html import HtmlElement
    from scrapy.crawler import Crawler


def parse_html(html: str) -> HtmlElement:
    """The page's tree, parsed as Scrapy parses a response's (`response.selector.root`): the
    spider's own tree is not handed on in the item."""
    return Selector(text=html, type="html").root


class ExtractPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.template = site_template.SiteTemplate()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.state = state_of(self.crawler)
        self.domain_id = self.state.domain_id
        with get_pool().connection() as conn:
            self.template = site_templates.load(conn, self.domain_id)

    def process_item(self, item: PageItem) -> PageItem:
        if item.get("kind") != "page":
            return item
        extracted = extract(parse_html(item["html"] or ""))
        keys, fingerprint = without_template(extracted, self.template)
        item["block_keys"], item["fingerprint"] = keys, fingerprint
        item["extracted"] = extracted
        known = self.state.known.get(item["url"])
        if known and known.content_hash and known.content_hash != fingerprint:
            before = self.stored_blocks(item["url"])
            item["template_only_change"] = before is not None and site_template.same_content(
                before, keys, self.template
            )
        return item

    def stored_blocks(self, url: str) -> list[str] | None:
        """The stored version's block keys (content/template.py), asked only for a page whose
        fingerprint changed: they are not held for every page of the site (a 100k-page site's
        keys were tens of MB, and a re-crawl of 304s needs none of them)."""
        with get_pool().connection() as conn:
            row = conn.execute(
                "SELECT metadata->'blocks' AS blocks FROM scraped_pages WHERE domain_id = %s "
                "AND url = %s AND jsonb_typeof(metadata->'blocks') = 'array'",
                (self.domain_id, url),
            ).fetchone()
        return row["blocks"] if row else None

    def close_spider(self) -> None:
        if self.template.observed:
            with get_pool().connection() as conn:
                site_templates.save(conn, self.domain_id, self.template)

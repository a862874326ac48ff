"""Crawlers for unit tests of crawl components: the project's Scrapy settings (the settings
module and the OMNI_* add-on), overrides set as `scrapy crawl -s` would, no engine started."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import AsyncCrawlerRunner, Crawler, CrawlerRunner
from scrapy.spiders import Spider
from scrapy.utils.reactor import is_reactor_installed
from scrapy.utils.test import get_reactor_settings

from crawlers.run import crawler_settings
from crawlers.spiders.site import SiteSpider


def make_crawler(spidercls: type[Spider] | None = None, **cmdline: Any) -> Crawler:
    """A crawler whose settings are final (add-ons applied), as `get_crawler` makes one."""

    # The reactor (or none) this test process has, as scrapy.utils.test.get_crawler does.
    reactor = {**get_reactor_settings(), "ASYNCIO_EVENT_LOOP": None}
    settings = crawler_settings(**{**reactor, **cmdline})
    runner = CrawlerRunner(settings) if is_reactor_installed() else AsyncCrawlerRunner(settings)
    crawler = runner.create_crawler(spidercls or Spider)
    crawler._apply_settings()  # what Crawler.crawl does before it builds the engine
    return crawler


def site_crawler(domain: str, **cmdline: Any) -> Crawler:
    """A crawler with its `site` spider for `domain` (registered if new: needs the database)."""

    crawler = make_crawler(SiteSpider, **cmdline)
    crawler.spider = SiteSpider.from_crawler(crawler, domain=domain)
    return crawler

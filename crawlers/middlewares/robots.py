"""robots.txt fetched once per crawl: the spider reads the start host's robots.txt itself (it
needs its sitemaps and Crawl-delay before the first request) and hands the same answer to
Scrapy's robots middleware, which would otherwise download it a second time."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware

from crawlers.scrapy_compat import seed_robots

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    def seed(self, url: str, body: bytes | None) -> None:
        """robots.txt of `url`'s host as already downloaded (None: none, everything allowed)."""
        seed_robots(self, urlsplit(url).netloc, body)


def share_robots(crawler: Crawler, url: str, body: bytes | None) -> None:
    if (middleware := crawler.get_downloader_middleware(SharedRobotsTxtMiddleware)) is not None:
        middleware.seed(url, body)

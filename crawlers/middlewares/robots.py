"""robots.txt fetched once per crawl: the spider reads the start host's robots.txt itself (it
needs its sitemaps and Crawl-delay before the first request) and hands the same answer to
Scrapy's robots middleware, which would otherwise download it a second time."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.utils.misc import build_from_crawler


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    def seed(self, url: str, body: bytes | None) -> None:
        """robots.txt of `url`'s host as already downloaded (None: none, everything allowed)."""
        netloc = urlsplit(url).netloc
        if netloc in self._parsers:
            return
        self._parsers[netloc] = (None if body is None
                                 else build_from_crawler(self._parserimpl, self.crawler, body))


def share_robots(crawler: Any, url: str, body: bytes | None) -> None:
    for middleware in crawler.engine.downloader.middleware.middlewares:
        if isinstance(middleware, SharedRobotsTxtMiddleware):
            middleware.seed(url, body)

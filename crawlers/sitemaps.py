"""robots.txt and sitemap parsing (pure functions over bytes)."""

from __future__ import annotations

from dataclasses import dataclass, field

from protego import Protego
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap

GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class RobotsInfo:
    sitemaps: list[str] = field(default_factory=list)
    crawl_delay: float | None = None


def parse_robots(body: bytes, user_agent: str) -> RobotsInfo:
    """`Sitemap:` lines and the `Crawl-delay` that applies to our user agent."""
    text = body.decode("utf-8", errors="replace")
    parser = Protego.parse(text)
    delay = parser.crawl_delay(user_agent)
    return RobotsInfo(sitemaps=list(parser.sitemaps), crawl_delay=float(delay) if delay else None)


@dataclass
class SitemapContent:
    kind: str  # "urlset", "sitemapindex" or "invalid"
    urls: list[str] = field(default_factory=list)
    lastmod: dict[str, str] = field(default_factory=dict)


def parse_sitemap(body: bytes, max_size: int = 50 * 1024 * 1024) -> SitemapContent:
    """A sitemap or sitemap index, gzipped or not (by content, not by name or header)."""
    if body[:2] == GZIP_MAGIC:
        try:
            body = gunzip(body, max_size=max_size)
        except Exception:  # noqa: BLE001 - corrupt or oversized archive: not a sitemap
            return SitemapContent("invalid")
    if b"<" not in body[:2048]:
        return SitemapContent("invalid")
    try:
        sitemap = Sitemap(body)
    except Exception:  # noqa: BLE001 - lxml gives up on non-XML bodies
        return SitemapContent("invalid")
    if sitemap.type not in ("urlset", "sitemapindex"):
        return SitemapContent("invalid")
    content = SitemapContent(sitemap.type)
    for entry in sitemap:
        loc = entry.get("loc")
        if loc:
            content.urls.append(loc)
            if entry.get("lastmod"):
                content.lastmod[loc] = entry["lastmod"]
    return content

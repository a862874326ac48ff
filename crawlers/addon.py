"""The project's settings (`core.config`, OMNI_* variables) mapped into Scrapy's, once per crawler.

A Scrapy add-on (`ADDONS` in `crawlers.settings`): Scrapy calls it while it builds the crawler's
settings, and it sets each value at "addon" priority, below `-s` on the command line and
`settings.set(..., priority="cmdline")`, so those still win. Every crawl component then reads
`crawler.settings` and nothing else. Values derived from another one (AutoThrottle's target
from the per-domain concurrency, the browser's navigation timeout from DOWNLOAD_TIMEOUT, ...)
are derived from the setting as it stands, an override included. docs/crawling.md has the table.
"""

from __future__ import annotations

from typing import Any

from scrapy.settings import BaseSettings

from core.config import Settings, get_settings

PRIORITY = "addon"


def direct_values(s: Settings) -> dict[str, Any]:
    """Scrapy setting -> value, for the values taken as they are from the project's settings."""
    return {
        "USER_AGENT": s.user_agent,
        "CONCURRENT_REQUESTS_PER_DOMAIN": max(1, s.crawl_concurrency),
        "DOWNLOAD_TIMEOUT": s.crawl_download_timeout,
        "DOWNLOAD_MAXSIZE": s.crawl_max_download_bytes,
        "OMNI_CRAWL_MAX_PAGES": s.crawl_max_pages,
        "OMNI_CRAWL_MAX_DEPTH": s.crawl_max_depth,
        "OMNI_CRAWL_PATTERN_LIMIT": s.crawl_pattern_limit,
        "OMNI_CRAWL_FRONTIER_MEMORY": s.crawl_frontier_memory,
        "OMNI_CRAWL_URL_MEMORY": s.crawl_url_memory,
        "OMNI_ALLOW_PRIVATE_NETWORKS": s.allow_private_networks,
        "OMNI_ALLOWED_PRIVATE_HOSTS": sorted(s.allowed_private_hosts),
        "OMNI_CHROMIUM_PATH": s.chromium_path,
        "OMNI_DOCUMENT_MAX_PAGES": s.document_max_pages,
    }


def derived_values(settings: BaseSettings) -> dict[str, Any]:
    """Scrapy settings that follow from others, read after overrides were applied."""
    # scrapy-playwright imports Playwright: not for the runner's settings in a process that
    # never crawls (the worker, `omni crawl`'s parent).
    from crawlers.playwright_handler import launch_options  # noqa: PLC0415 - see the comment above

    per_domain = max(1, settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"))
    return {
        "ROBOTSTXT_USER_AGENT": settings.get("USER_AGENT"),
        "CONCURRENT_REQUESTS": per_domain * 2,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(per_domain),
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": int(settings.getfloat("DOWNLOAD_TIMEOUT") * 1000),
        "PLAYWRIGHT_LAUNCH_OPTIONS": launch_options(settings.get("OMNI_CHROMIUM_PATH")),
    }


def apply(settings: BaseSettings) -> None:
    s = get_settings()
    for values in (direct_values(s), {"LOG_LEVEL": s.log_level.upper()}):
        for name, value in values.items():
            settings.set(name, value, priority=PRIORITY)
    for name, value in derived_values(settings).items():
        settings.set(name, value, priority=PRIORITY)


class OmniSettings:
    """The add-on. Applied twice with the same values: to the runner's settings, before any
    crawler exists (Scrapy configures logging and builds the DNS resolver from those), and to
    each crawler's, after its spider's settings (so derived values follow those too)."""

    @classmethod
    def update_pre_crawler_settings(cls, settings: BaseSettings) -> None:
        apply(settings)

    def update_settings(self, settings: BaseSettings) -> None:
        apply(settings)

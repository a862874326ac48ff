"""The OMNI_* settings mapped into Scrapy's by the add-on (crawlers/addon.py): once per crawler,
below `-s` (priority "cmdline"), with derived values following the overrides."""

from __future__ import annotations

import importlib

import pytest

import crawlers.settings
from db import tenants
from tests.support.crawler import make_crawler, site_crawler

ENV = {
    "OMNI_USER_AGENT": "TestBot/1",
    "OMNI_CRAWL_CONCURRENCY": "3",
    "OMNI_CRAWL_DOWNLOAD_TIMEOUT": "12.5",
    "OMNI_CRAWL_MAX_BYTES": "5000",
    "OMNI_CRAWL_MAX_PAGES": "40",
    "OMNI_CRAWL_MAX_DEPTH": "2",
    "OMNI_CRAWL_PATTERN_LIMIT": "9",
    "OMNI_ALLOW_PRIVATE_NETWORKS": "0",
    "OMNI_ALLOWED_PRIVATE_HOSTS": "b.test:81,a.test:80",
    "OMNI_CHROMIUM_PATH": "/opt/chrome",
    "OMNI_DOCUMENT_MAX_PAGES": "7",
    "OMNI_LOG_LEVEL": "warning",
}

FROM_ENVIRONMENT = [
    # (Scrapy setting, value with ENV)
    ("USER_AGENT", "TestBot/1"),
    ("ROBOTSTXT_USER_AGENT", "TestBot/1"),
    ("CONCURRENT_REQUESTS_PER_DOMAIN", 3),
    ("CONCURRENT_REQUESTS", 6),
    ("AUTOTHROTTLE_TARGET_CONCURRENCY", 3.0),
    ("DOWNLOAD_TIMEOUT", 12.5),
    ("PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT", 12500),
    ("DOWNLOAD_MAXSIZE", 5000),
    ("OMNI_CRAWL_MAX_PAGES", 40),
    ("OMNI_CRAWL_MAX_DEPTH", 2),
    ("OMNI_CRAWL_PATTERN_LIMIT", 9),
    ("OMNI_ALLOW_PRIVATE_NETWORKS", False),
    ("OMNI_ALLOWED_PRIVATE_HOSTS", ["a.test:80", "b.test:81"]),
    ("OMNI_CHROMIUM_PATH", "/opt/chrome"),
    ("OMNI_DOCUMENT_MAX_PAGES", 7),
    ("LOG_LEVEL", "WARNING"),
]


@pytest.mark.parametrize(("name", "expected"), FROM_ENVIRONMENT)
def test_each_variable_reaches_its_scrapy_setting(omni_env, name, expected):
    omni_env(**ENV)
    settings = make_crawler().settings
    assert settings[name] == expected
    assert settings.getpriority(name) == 15  # "addon": below the project module and -s


def test_the_browser_launch_options_follow_the_chromium_path(omni_env):
    omni_env(**ENV)
    assert make_crawler().settings["PLAYWRIGHT_LAUNCH_OPTIONS"]["executable_path"] == "/opt/chrome"


OVERRIDES = [
    # (-s settings, setting, expected): the override wins, and what derives from it follows
    ({"USER_AGENT": "Other/2"}, "ROBOTSTXT_USER_AGENT", "Other/2"),
    ({"CONCURRENT_REQUESTS_PER_DOMAIN": 5}, "CONCURRENT_REQUESTS", 10),
    ({"CONCURRENT_REQUESTS_PER_DOMAIN": 5}, "AUTOTHROTTLE_TARGET_CONCURRENCY", 5.0),
    ({"DOWNLOAD_TIMEOUT": 2}, "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT", 2000),
    ({"OMNI_CRAWL_MAX_PAGES": 3}, "OMNI_CRAWL_MAX_PAGES", 3),
    ({"OMNI_ALLOW_PRIVATE_NETWORKS": True}, "OMNI_ALLOW_PRIVATE_NETWORKS", True),
    ({"LOG_LEVEL": "ERROR"}, "LOG_LEVEL", "ERROR"),
]


@pytest.mark.parametrize(("cmdline", "name", "expected"), OVERRIDES)
def test_command_line_settings_win(omni_env, cmdline, name, expected):
    omni_env(**ENV)
    assert make_crawler(**cmdline).settings[name] == expected


def test_the_settings_module_reads_nothing_at_import(omni_env):
    """No get_settings() call when crawlers.settings is imported: the variables are read when a
    crawler is created, so the same process sees a changed environment."""

    omni_env(OMNI_USER_AGENT="Before/1")
    module = importlib.reload(crawlers.settings)
    assert not hasattr(module, "USER_AGENT")
    omni_env(OMNI_USER_AGENT="After/2")
    assert make_crawler().settings["USER_AGENT"] == "After/2"


@pytest.mark.parametrize(
    ("domain_limits", "cmdline", "expected"),
    [
        ({}, {}, (40, 2, 9)),  # the environment's
        (
            {},
            {"OMNI_CRAWL_MAX_PAGES": 5, "OMNI_CRAWL_MAX_DEPTH": 1, "OMNI_CRAWL_PATTERN_LIMIT": 4},
            (5, 1, 4),
        ),  # -s
        (
            {"max_pages": 11, "max_depth": 0},
            {"OMNI_CRAWL_MAX_PAGES": 5},
            (11, 0, 9),
        ),  # the domain's
    ],
)
def test_spider_limits_come_from_the_crawler_settings(
    db, omni_env, domain_limits, cmdline, expected
):
    omni_env(**ENV)
    row = tenants.add_domain(db, "shop.example")
    db.execute(
        "UPDATE domains SET max_pages = %s, max_depth = %s WHERE id = %s",
        (domain_limits.get("max_pages"), domain_limits.get("max_depth"), row["id"]),
    )
    spider = site_crawler("shop.example", **cmdline).spider
    state = spider.state
    assert (state.max_pages, state.max_depth, state.pattern_limit) == expected
    assert state.traps.limit == expected[2]
    assert (spider.robots_user_agent, spider.max_bytes) == ("TestBot/1", 5000)

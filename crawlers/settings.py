"""Scrapy settings for the site crawler: the fixed choices, documented in docs/crawling.md. The
values operators tune (OMNI_* variables: user agent, concurrency, timeouts, limits, the SSRF
policy, the log level) are mapped into Scrapy's settings by the `crawlers.addon.OmniSettings`
add-on when the crawler is created, below `-s` overrides; nothing here reads them at import."""

from __future__ import annotations

from importlib.util import find_spec

from scrapy.settings import default_settings as _defaults

BOT_NAME = "omni"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

ADDONS = {"crawlers.addon.OmniSettings": 0}

ROBOTSTXT_OBEY = True

# The frontier past OMNI_CRAWL_FRONTIER_MEMORY requests goes to a disk queue
# (crawlers/scheduler.py).
SCHEDULER = "crawlers.scheduler.SpillingScheduler"

# Politeness: AutoThrottle adapts to the server; robots.txt Crawl-delay raises the floor
# (crawlers.middlewares.politeness).
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.0
AUTOTHROTTLE_MAX_DELAY = 10.0
DOWNLOAD_DELAY = 0.0
DOWNLOAD_DELAY_JITTER = 0

DOWNLOAD_WARNSIZE = 0
RETRY_TIMES = 1
REDIRECT_MAX_TIMES = 5
DEPTH_LIMIT = 0  # depth is bounded per domain by crawlers.middlewares.budget
HTTPERROR_ALLOW_ALL = True  # every status reaches the spider so failures are recorded
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19's RemoteControl serves an HTTP endpoint that runs arbitrary Python in the crawl
# process. A multi-tenant crawler must not expose that.
REMOTE_CONTROL_ENABLED = False
MEMUSAGE_ENABLED = False
# Per-response overheads that showed up in profiles (docs/crawling.md): the source inspection of
# every callback, and 100 asyncio tasks per response for items that are processed synchronously.
WARN_ON_GENERATOR_RETURN_VALUE = False
CONCURRENT_ITEMS = 16

# Refuses non-public addresses where the connection resolves them (DNS rebinding), behind the
# SSRF middleware's early check.
TWISTED_DNS_RESOLVER = "crawlers.resolver.PublicAddressResolver"

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
# uvloop under the asyncio reactor: ~15% less CPU per request (bench/crawl_throughput.py, see
# docs/crawling.md). The standard loop is used where uvloop is not installed (Windows).
ASYNCIO_EVENT_LOOP = "uvloop.Loop" if find_spec("uvloop") else None

# Scrapy imports every component named in the *_BASE settings, even a disabled one. Importing
# RemoteControl (an aiohttp web server) and CookiesMiddleware (tldextract) took ~0.18 s of every
# crawl process for two components that never run. They are filtered out of Scrapy's own
# defaults, so components that later Scrapy versions add to the defaults are kept.
_NEVER_IMPORTED = {
    "scrapy.extensions.remote_control.RemoteControl",
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware",
}
EXTENSIONS_BASE = {k: v for k, v in _defaults.EXTENSIONS_BASE.items() if k not in _NEVER_IMPORTED}
DOWNLOADER_MIDDLEWARES_BASE = {
    k: v for k, v in _defaults.DOWNLOADER_MIDDLEWARES_BASE.items() if k not in _NEVER_IMPORTED
}

# Built-in components that do nothing for this spider but still run on every request/response:
# off-site and depth are enforced by the spider and crawlers.middlewares.budget, no request has
# HTTP credentials, the meta-copy check is a development aid, and the crawl job's stats (pages,
# bytes, statuses) replace the downloader's request/response byte counters.
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware": None,
    "scrapy.downloadermiddlewares.stats.DownloaderStats": None,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawlers.middlewares.robots.SharedRobotsTxtMiddleware": 100,
    "crawlers.middlewares.ssrf.SsrfGuardMiddleware": 50,
    "crawlers.middlewares.conditional.ConditionalRequestMiddleware": 560,
    "crawlers.middlewares.politeness.CrawlDelayMiddleware": 570,
    "crawlers.middlewares.render.AppShellFallbackMiddleware": 580,
}
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
    "crawlers.middlewares.traps.TrapLimiterMiddleware": 910,
    "crawlers.middlewares.budget.PageBudgetMiddleware": 905,
}
ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.documents.DocumentPipeline": 150,
    "pipelines.hash.HashPipeline": 200,
    "pipelines.links.LinksPipeline": 300,
    "pipelines.store.StorePipeline": 400,
    "pipelines.enqueue.EnqueuePipeline": 500,
}
# What sends a queued job's message (pipelines/enqueue.py); named, not imported: the workers
# layer sits above the crawl layer (docs/architecture.md).
OMNI_JOB_SENDER = "workers.dispatch.send_job"
EXTENSIONS = {
    "scrapy.extensions.throttle.AutoThrottle": None,
    "crawlers.throttle.ConditionalAutoThrottle": 0,
    "crawlers.progress.ProgressExtension": 500,
    "crawlers.jobrun.CrawlJobExtension": 510,
}

# Playwright is only launched when a request asks for it (render_js domains, app-shell fallback).
DOWNLOAD_HANDLERS = {
    "http": "crawlers.playwright_handler.LazyPlaywrightHandler",
    "https": "crawlers.playwright_handler.LazyPlaywrightHandler",
}
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_MAX_CONTEXTS = 1
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 2
PLAYWRIGHT_ABORT_REQUEST = "crawlers.playwright_handler.abort_heavy_resources"

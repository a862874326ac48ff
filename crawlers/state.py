"""What one crawl knows: the domain's settings, what earlier crawls stored (loaded once, in three
queries, at spider open) and what this crawl has seen so far. Written by the spider and its
middlewares (what they met: statuses, traps, pages to forget, moves), read by the pipelines
through `state_of(crawler)`; `errors` is the crawl's record of what could not be stored, which
fails its job. The pipelines hand each other work through the item (crawlers/items.py), never
through this. Its counters are not here: they are in Scrapy's stats collector
(`crawlers.crawl_stats`).

The URL memory (every map and set keyed by URL below) is bounded by `OMNI_CRAWL_URL_MEMORY`
entries each: past it, a map or set moves to a SQLite file in a temporary directory
(`crawlers/url_memory.py`), removed when the crawl ends (`close`). A value read back from there
is a copy: a `KnownPage` or a list of links is never changed in place after it is stored."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, MutableMapping, MutableSet
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from scrapy.settings import BaseSettings

from core.knowledge import rules_of
from core.url_patterns import matches_any
from crawlers.recheck import parse_time
from crawlers.traps import TrapGuard
from crawlers.url_memory import UrlMemory
from db import tenants
from db.connection import Conn
from db.forget import patterns as forget_patterns

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.spiders import Spider


@dataclass(slots=True)
class KnownPage:
    id: str
    status: str | None  # scraped | duplicate | redirect | failed | gone
    etag: str | None
    last_modified: str | None  # the Last-Modified header as the server sent it
    content_hash: str | None
    depth: int
    scraped_at: datetime | None = None
    crawl_job_id: str | None = None  # the crawl job that last wrote the row
    next_check_at: datetime | None = None  # dead links and redirects: not asked before this
    dead_count: int = 0  # consecutive 404/410 answers
    canonical_of: str | None = None  # duplicates and redirects: the page they stand for
    not_html: bool = False  # a linked file that is not a page (a .py download): asked conditionally


@dataclass(frozen=True, slots=True)
class CrawlLimits:
    """The limits of a domain that sets none of its own, from the crawler's settings."""

    max_pages: int
    max_depth: int
    pattern_limit: int

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> CrawlLimits:
        return cls(
            settings.getint("OMNI_CRAWL_MAX_PAGES"),
            settings.getint("OMNI_CRAWL_MAX_DEPTH"),
            settings.getint("OMNI_CRAWL_PATTERN_LIMIT"),
        )


@dataclass
class CrawlState:
    domain: str
    domain_id: str
    site_hosts: tuple[str, ...]
    max_pages: int
    max_depth: int
    render_js: bool
    pattern_limit: int
    job_id: str | None = None
    forgotten: tuple[str, ...] = ()  # `omni domain forget` patterns: never fetched (db/forget.py)
    runner: str | None = None  # the token of the runner holding the job (db.jobs)
    owns_job: bool = False  # this process started the job and records its outcome
    force: bool = False  # `omni refresh --force`: no validators, every page re-extracted
    include: list[str] = field(default_factory=list)  # knowledge URL patterns (core.knowledge)
    exclude: list[str] = field(default_factory=list)
    known: MutableMapping[str, KnownPage] = field(default_factory=dict)
    # content_hash -> canonical_url
    known_hashes: MutableMapping[str, str] = field(default_factory=dict)
    # internal links by source
    known_links: MutableMapping[str, list[str]] = field(default_factory=dict)
    url_memory: UrlMemory | None = None  # what the maps and sets spill to past their bound

    # this crawl
    started: float = field(default_factory=time.monotonic)
    seen: MutableSet[str] = field(default_factory=set)  # canonical URLs requested or skipped
    stored: MutableSet[str] = field(default_factory=set)  # URLs an item was produced for
    sitemap_urls: MutableSet[str] = field(default_factory=set)  # never bounded as traps
    traps: TrapGuard = field(default_factory=lambda: TrapGuard(50))
    trap_skipped: dict[str, tuple[str, int]] = field(default_factory=dict)  # url -> (why, depth)
    statuses: MutableMapping[str, int] = field(default_factory=dict)  # internal URL -> HTTP status
    forget: dict[str, str] = field(default_factory=dict)  # URL confirmed gone -> why
    moved: dict[str, str] = field(default_factory=dict)  # URL -> the page that replaces it
    errors: list[str] = field(default_factory=list)  # storage errors: the crawl fails with them

    def is_forgotten(self, url: str) -> bool:
        """A page the site owner asked to forget (`omni domain forget`): never fetched again."""
        return bool(self.forgotten) and matches_any(url, self.forgotten)

    def bound_url_memory(self, bound: int) -> None:
        """Every map and set keyed by URL from now on bounded in memory (`crawlers/url_memory.py`);
        called on a fresh state, before anything is loaded into it."""
        memory = self.url_memory = UrlMemory(bound)
        self.known, self.known_hashes, self.known_links = memory.map(), memory.map(), memory.map()
        self.statuses = memory.map()
        self.seen, self.stored, self.sitemap_urls = memory.set(), memory.set(), memory.set()

    def url_set(self, urls: Iterable[str]) -> MutableSet[str]:
        """A set of URLs, bounded like the state's own."""
        return set(urls) if self.url_memory is None else self.url_memory.set(urls)

    def url_map(self) -> MutableMapping[str, Any]:
        """A map keyed by URL (or by a page's hash), bounded like the state's own: for a
        component's own per-crawl memory (the hash step's first URL of each hash)."""
        return {} if self.url_memory is None else self.url_memory.map()

    def spilled(self) -> int:
        """How many of the URL maps and sets are on disk."""
        parts: list[object] = [self.known, self.known_hashes, self.known_links, self.statuses]
        parts += [self.seen, self.stored, self.sitemap_urls]
        return sum(1 for part in parts if getattr(part, "spilled", False))

    def close(self) -> None:
        """The URL memory's file removed (the state is not used afterwards)."""
        if self.url_memory is not None:
            self.url_memory.close()

    @classmethod
    def load(
        cls,
        conn: Conn,
        domain_row: dict[str, Any],
        limits: CrawlLimits,
        job_id: UUID | str | None = None,
        url_memory: int | None = None,
    ) -> CrawlState:
        """The state of a crawl of `domain_row`; `url_memory`: its URL maps' and sets' bound
        in memory (None: unbounded)."""
        domain = domain_row["domain"]
        state = cls(
            domain=domain,
            domain_id=str(domain_row["id"]),
            site_hosts=tuple(dict.fromkeys([domain, *tenants.owned_domains(conn, domain)])),
            max_pages=domain_row.get("max_pages") or limits.max_pages,
            max_depth=(
                domain_row["max_depth"]
                if domain_row.get("max_depth") is not None
                else limits.max_depth
            ),
            render_js=bool(domain_row.get("render_js")),
            forgotten=forget_patterns(domain_row.get("config")),
            pattern_limit=limits.pattern_limit,
            job_id=str(job_id) if job_id else None,
        )
        if url_memory is not None:
            state.bound_url_memory(url_memory)
        # The rows below are streamed (one at a time from the server), so a big site's pages and
        # links are never held whole in the client's result buffer as they go into the memory.
        state.traps = TrapGuard(state.pattern_limit)
        state.include, state.exclude = rules_of(domain_row)
        if job_id:
            job = conn.execute(
                "SELECT metadata FROM content_refresh_jobs WHERE id = %s", (str(job_id),)
            ).fetchone()
            state.force = bool(((job or {}).get("metadata") or {}).get("force"))
        for row in conn.cursor().stream(
            "SELECT id, url, status, scraped_at, metadata->>'etag' AS etag, "
            "metadata->>'last_modified_header' AS lm, metadata->>'content_hash' AS h, "
            "COALESCE((metadata->>'depth')::int, 0) AS depth, "
            "metadata->>'crawl_job_id' AS job, "
            "metadata->>'next_check_at' AS next_check, "
            "COALESCE((metadata->>'dead_count')::int, 0) AS dead_count, "
            "metadata->>'canonical_of' AS canonical_of, "
            "(status = 'failed' AND error_message LIKE 'not HTML:%%') AS not_html "
            "FROM scraped_pages WHERE domain_id = %s",
            (state.domain_id,),
        ):
            state.known[sys.intern(row["url"])] = KnownPage(
                str(row["id"]),
                row["status"],
                row["etag"],
                row["lm"],
                row["h"],
                row["depth"],
                row["scraped_at"],
                row["job"],
                parse_time(row["next_check"]),
                row["dead_count"],
                row["canonical_of"],
                bool(row["not_html"]),
            )
        for row in conn.cursor().stream(
            "SELECT content_hash, canonical_url FROM content_hashes WHERE domain_id = %s",
            (state.domain_id,),
        ):
            state.known_hashes[row["content_hash"]] = row["canonical_url"]
        for row in conn.cursor().stream(
            "SELECT source_url, array_agg(target_url) AS targets FROM page_content_references "
            "WHERE domain_id = %s AND is_internal AND reference_type = 'link' AND NOT nofollow "
            "GROUP BY source_url",
            (state.domain_id,),
        ):
            # interned: the targets are mostly known URLs, so each string is held once, not once
            # per link (1.5M links of a 100k-page site: ~130 MB of copies otherwise)
            state.known_links[sys.intern(row["source_url"])] = [
                sys.intern(t) for t in row["targets"]
            ]
        return state


def state_of(crawler: Crawler | Spider | None) -> CrawlState:
    """The crawl's state: the `site` spider's (crawlers/spiders/site.py), loaded when it is
    built, given its crawler or the spider itself. Components of another spider's crawl have
    none: a programming error."""
    spider = getattr(crawler, "spider", crawler)
    state = getattr(spider, "state", None)
    if not isinstance(state, CrawlState):
        raise TypeError(f"{type(spider).__name__} is not the site spider: no crawl state")
    return state

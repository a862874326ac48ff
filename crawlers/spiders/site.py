"""`site`: crawls one registered domain (and its owned domains).

    scrapy crawl site -a domain=shop.example.com [-a job_id=<content_refresh_jobs id>]

Discovery: robots.txt `Sitemap:` lines, `/sitemap.xml` (indexes, gzipped children), links, and the
pages earlier crawls stored (so a re-crawl revisits them conditionally and notices pages that
are gone). Items are `crawlers.items.PageItem` typed dicts (`kind` = page | document |
unchanged | failed | gone | duplicate | redirect); the pipelines in `pipelines/` turn them into
rows.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Self
from urllib.parse import urljoin

import scrapy
from protego import Protego
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import HtmlResponse, Request, Response
from scrapy.settings import BaseSettings
from scrapy.utils.response import get_base_url

from content.charset import as_utf8_when_it_is
from core.domains import normalize_domain
from crawlers import crawl_stats
from crawlers.documents import document_item, fetchable_document
from crawlers.failures import describe_failure
from crawlers.items import Link, PageItem
from crawlers.middlewares.robots import share_robots
from crawlers.recheck import (
    NEW,
    PRIORITY,
    REDIRECT_RECHECK_DAYS,
    confirmed_gone,
    crawl_order,
    dead_schedule,
    due,
    replacement,
)
from crawlers.sitemaps import parse_robots, parse_sitemap
from crawlers.state import CrawlLimits, CrawlState, KnownPage
from crawlers.traps import fingerprint
from crawlers.urls import canonicalize, host_of, in_site, pattern_key, resource_kind, start_url
from db import tenants
from db.connection import connect

if TYPE_CHECKING:
    from lxml.html import HtmlElement
    from scrapy.crawler import Crawler
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

MAX_SITEMAP_NESTING = 3
GONE_STATUSES = (404, 410)
ALIAS_STATUSES = ("duplicate", "redirect")


class SiteSpider(scrapy.Spider):
    name = "site"

    def __init__(
        self,
        domain: str | None = None,
        job_id: str | None = None,
        start_url: str | None = None,
        runner: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not domain:
            raise ValueError("the site spider needs a domain: scrapy crawl site -a domain=<domain>")
        self.domain_arg = domain
        self.job_id = job_id or None
        self.runner = runner or None
        self.start_url_arg = start_url or None
        self.robots: Protego | None = None
        self.crawl_delay: float | None = None
        self._state: CrawlState | None = None
        # canonical URL -> the (alias, depth) pages stored as its duplicates while it is asked:
        # fetched again as themselves if it fails (`_canonical_failed`)
        self.aliases_waiting: dict[str, list[tuple[str, int]]] = {}
        self.unreachable: set[str] = set()  # pages of this crawl that failed without an answer

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        # Scrapy filters by level in its root log handler and leaves the loggers at NOTSET, so
        # every request built DEBUG records ("Crawled (200) ...") only to drop them. Set here,
        # it holds for `scrapy crawl site` as well as `crawlers.run`.
        logging.getLogger("scrapy").setLevel(crawler.settings.get("LOG_LEVEL"))
        # after every spider_closed handler (the pipelines' and the enqueue step's reads)
        crawler.signals.connect(spider.engine_stopped, signal=signals.engine_stopped)
        crawler.signals.connect(spider.idle, signal=signals.spider_idle)
        return spider

    def idle(self) -> None:
        """Nothing is in flight, so a canonical URL still unanswered was never asked (dropped by
        the depth limit, the page budget, a trap bound): the pages stored as its duplicates are
        asked again as themselves, straight to the scheduler (past those bounds: each was
        fetched already)."""
        requests = [
            r for canonical in list(self.aliases_waiting) for r in self._canonical_failed(canonical)
        ]
        for request in requests:
            self.crawler.engine.crawl(request)
        if requests:
            raise DontCloseSpider

    @property
    def state(self) -> CrawlState:
        """Loaded on first use (by the first component that opens): Scrapy creates the spider
        before the add-ons have set the crawler's settings, so nothing that depends on them is
        read in `from_crawler`."""
        if self._state is None:
            self._state = self._load_state(self.crawler.settings)
        return self._state

    def count(self, name: str, n: int = 1) -> None:
        crawl_stats.count(self.crawler.stats, name, n)

    def closed(self, reason: str) -> None:
        """The trap guard's own counters into the job's stats (`trap_guard_<name>`)."""
        if self._state is not None:
            for name, value in self._state.traps.counts.items():
                crawl_stats.record(self.crawler.stats, f"trap_guard_{name}", value)
            crawl_stats.record(self.crawler.stats, "url_memory_spilled", self._state.spilled())

    def engine_stopped(self) -> None:
        """The URL memory's file goes with the crawl."""
        if self._state is not None:
            self._state.close()

    def _load_state(self, settings: BaseSettings) -> CrawlState:
        self.robots_user_agent = settings.get("ROBOTSTXT_USER_AGENT") or settings.get("USER_AGENT")
        self.max_bytes = settings.getint("DOWNLOAD_MAXSIZE")
        domain = normalize_domain(self.domain_arg)
        with connect(autocommit=True) as conn:
            row = tenants.get_domain(conn, domain) or tenants.add_domain(conn, domain)
            state = CrawlState.load(
                conn,
                row,
                CrawlLimits.from_settings(settings),
                self.job_id,
                url_memory=settings.getint("OMNI_CRAWL_URL_MEMORY") or None,
            )
        state.runner = self.runner
        self.start_url, self.http_fallback = start_url(self.start_url_arg or self.domain_arg)
        self.start_host = host_of(self.start_url)  # the same after an https -> http fallback
        if not in_site(self.start_url, state.site_hosts):
            raise ValueError(f"start URL {self.start_url} is not on {state.domain}")
        return state

    # ------------------------------------------------------------------ discovery
    async def start(self) -> AsyncIterator[Request]:
        robots_body = await self._fetch_robots()
        sitemaps = [urljoin(self.start_url, "/sitemap.xml")]
        if robots_body is not None:
            info = parse_robots(robots_body, self.robots_user_agent)
            self.robots = Protego.parse(robots_body.decode("utf-8", errors="replace"))
            self.crawl_delay = info.crawl_delay
            sitemaps = [*info.sitemaps, *sitemaps]
        listed = await self._read_sitemaps(sitemaps)
        if first := self.page_request(
            canonicalize(self.start_url) or self.start_url, 0, priority=PRIORITY[NEW]
        ):
            yield first
        now = datetime.now(UTC)
        state = self.state
        known = {
            url: (page.depth, page.scraped_at)
            for url, page in state.known.items()
            if not self._skip_known(url, page, now)
        }
        duplicates = {url for url, page in state.known.items() if page.status == "duplicate"}
        for planned in crawl_order(listed, known, duplicates):
            resumed = state.known.get(planned.url)
            if resumed is not None and self._resumable(planned.url, resumed):
                for known_request in self._follow_known(planned.url, planned.depth):
                    yield known_request
                continue
            if request := self.page_request(
                planned.url,
                planned.depth,
                priority=PRIORITY[planned.tier] - planned.depth,
                from_sitemap=planned.from_sitemap,
            ):
                yield request

    def _skip_known(self, url: str, page: KnownPage, now: datetime) -> bool:
        """A dead URL, a redirect or a trap-skipped URL that is not due again (its back-off):
        not asked. A URL the sitemap lists is never held back as a trap."""
        if due(page.next_check_at, now, self.state.force) or (
            page.status == "skipped" and url in self.state.sitemap_urls
        ):
            return False
        self.state.seen.add(url)
        self.count("recheck_skipped")
        return True

    def _resumable(self, url: str, page: KnownPage) -> bool:
        """Stored by an earlier attempt of this very job (a killed crawl's retry): not asked
        again, its stored links are followed instead."""
        state = self.state
        return (
            not state.force
            and page.crawl_job_id == state.job_id
            and page.status == "scraped"
            and url in state.known_links
        )

    def _follow_known(self, url: str, depth: int) -> Iterator[Request]:
        """A page an earlier attempt of this job stored: not asked; its stored links are
        followed, and those that attempt stored too are resumed the same way (iteratively), so
        a retried crawl continues where the killed one stopped instead of asking every page
        it had stored again."""
        state = self.state
        state.seen.add(url)
        state.stored.add(url)
        self.count("resumed")
        pending = [(target, depth + 1) for target in state.known_links.get(url, ())]
        while pending:
            target, at = pending.pop()
            known = state.known.get(target)
            if (
                target not in state.seen
                and known is not None
                and self._resumable(target, known)
                and in_site(target, state.site_hosts)
            ):
                state.seen.add(target)
                state.stored.add(target)
                self.count("resumed")
                pending.extend((t, at + 1) for t in state.known_links.get(target, ()))
            elif request := self.page_request(target, at):
                yield request

    async def _fetch_robots(self) -> bytes | None:
        """robots.txt of the start host (once per crawl: the robots middleware is handed the
        same answer); also decides https vs http for a bare domain."""
        for attempt in range(2):
            request = Request(
                urljoin(self.start_url, "/robots.txt"),
                meta={"dont_obey_robotstxt": True, "dont_retry": True},
            )
            try:
                response = await self.crawler.engine.download_async(request)
            except Exception as exc:  # noqa: BLE001 - any connection failure
                if attempt == 0 and self.http_fallback and self.start_url.startswith("https://"):
                    logger.info(
                        "https failed for %s (%s); falling back to http", self.state.domain, exc
                    )
                    self.start_url = "http://" + self.start_url.removeprefix("https://")
                    continue
                share_robots(self.crawler, self.start_url, None)
                return None
            body = response.body if response.status == 200 else None
            share_robots(self.crawler, self.start_url, body)
            return body
        return None

    async def _read_sitemaps(self, roots: list[str]) -> dict[str, str | None]:
        """Every page URL the site's sitemaps list (indexes and gzipped children followed up to
        MAX_SITEMAP_NESTING), with its `<lastmod>`. Read before the crawl starts, so the crawl
        can be ordered by it."""
        listed: dict[str, str | None] = {}
        queue = [
            (u, 0)
            for u in dict.fromkeys(canonicalize(u, self.start_url) for u in roots)
            if u and in_site(u, self.state.site_hosts)
        ]
        done: set[str] = set()
        while queue:
            url, nesting = queue.pop(0)
            if url in done:
                continue
            done.add(url)
            try:
                response = await self.crawler.engine.download_async(
                    Request(url, meta={"dont_retry": True})
                )
            except Exception as exc:  # noqa: BLE001 - a missing sitemap is normal
                logger.info("sitemap %s not read: %s", url, exc)
                continue
            self.count("sitemap_requests")
            if response.status != 200:
                continue
            content = parse_sitemap(response.body, max_size=self.max_bytes)
            for loc in content.urls:
                target = canonicalize(loc, response.url)
                if not target or not in_site(target, self.state.site_hosts):
                    continue
                if content.kind == "sitemapindex":
                    if nesting < MAX_SITEMAP_NESTING:
                        queue.append((target, nesting + 1))
                else:
                    listed.setdefault(target, content.lastmod.get(loc))
        self.state.sitemap_urls = self.state.url_set(listed)
        return listed

    def page_request(
        self,
        url: str,
        depth: int,
        *,
        priority: int | None = None,
        from_sitemap: bool = False,
        chain: int = 0,
    ) -> Request | None:
        """A request for a page of the site, or None if it is not one to fetch (seen, off-site,
        not a page, disallowed, a dead link not due again). `url` must be canonical: every
        caller has it from `canonicalize` or from rows this spider stored. Budget and trap
        bounds are applied by the spider middlewares."""
        state = self.state
        if url in state.seen or not in_site(url, state.site_hosts):
            return None
        if state.is_forgotten(url):
            self.count("forgotten_skipped")
            return None
        known = state.known.get(url)
        if known is not None and self._skip_known(url, known, datetime.now(UTC)):
            return None
        state.seen.add(url)
        kind = resource_kind(url)
        if kind == "document":  # PDFs etc. (crawlers/documents.py); the rest stay references
            self.count("documents")
            if not fetchable_document(url):
                return None
        elif kind != "page":
            return None
        if (
            self.robots is not None
            and host_of(url) == self.start_host
            and not self.robots.can_fetch(url, self.robots_user_agent)
        ):
            self.count("robots_skipped")
            return None
        meta: dict[str, Any] = {
            "omni_chain": chain,
            "omni_sitemap": from_sitemap or url in state.sitemap_urls,
        }
        if kind == "document":
            meta["omni_document"] = True
        return self._request(url, depth, meta, priority)

    def _request(
        self, url: str, depth: int, extra: dict[str, Any], priority: int | None = None
    ) -> Request:
        """The request for a page of the site (`page_request` decides whether to ask it)."""
        meta = {"omni_page": True, "omni_url": url, "omni_depth": depth, "render_mode": "static"}
        meta.update(extra)
        if self.state.render_js and not meta.get("omni_document") and not meta.get("omni_static"):
            meta.update(playwright=True, render_mode="playwright")
        return Request(
            url,
            callback=self.parse_page,
            errback=self.on_page_error,
            meta=meta,
            dont_filter=True,
            priority=-depth if priority is None else priority,
        )

    # ------------------------------------------------------------------ pages
    def parse_page(self, response: Response) -> Iterator[Request | PageItem]:
        state = self.state
        meta = response.meta
        url, depth = meta["omni_url"], meta["omni_depth"]
        self.count("pages_seen")
        self.count("bytes", len(response.body))
        base = self._item(url, depth, response)
        status = response.status
        known = state.known.get(url)
        if status == 304:
            state.statuses[url] = 304
            self.aliases_waiting.pop(url, None)  # answered (unchanged): its duplicates stand
            self.count("not_modified")
            for target in state.known_links.get(url, ()):
                if request := self.page_request(target, depth + 1):
                    yield request
            keep = (
                known.status
                if known and (known.status in ALIAS_STATUSES or known.not_html)
                else "scraped"
            )
            unchanged: PageItem = {**base, "kind": "unchanged", "status": keep}
            yield unchanged
            return
        if status >= 300:
            state.statuses[url] = status
            yield from self._canonical_failed(url)
            item: PageItem = {**base, "kind": "failed", "error": f"HTTP {status}"}
            if status in GONE_STATUSES:
                count, when = dead_schedule(known.dead_count if known else 0, datetime.now(UTC))
                item["dead_count"], item["next_check_at"] = count, when.isoformat()
                if known is not None and (
                    known.status in ("scraped", "gone") or known.content_hash
                ):
                    item["kind"] = "gone"
                    self._forget_if_confirmed(url, known, count, f"HTTP {status}")
            yield item
            return
        final = canonicalize(response.url) or url
        if not in_site(final, state.site_hosts):
            yield from self._unreachable(url)
            off_site: PageItem = {
                **base,
                "kind": "failed",
                "error": f"redirected off-site to {response.url}",
            }
            yield off_site
            return
        if meta.get("omni_document") or not isinstance(response, HtmlResponse):
            yield from self._document(base, final, url, response)
            return
        response = as_utf8_when_it_is(response)
        root = response.selector.root
        canonical = self._canonical_of(root, response) or final
        state.statuses[url] = status
        state.statuses[final] = status
        state.seen.add(final)
        if final != url:  # a redirect: remembered, re-checked weekly while its target is known
            yield self._redirect_item(base, url, final, known)
        links = extract_links(root, get_base_url(response), state.site_hosts)
        yield from self._follow_links(links, root, response, depth, meta)
        self.aliases_waiting.pop(url, None)  # answered: its duplicates stand
        stands = False
        if canonical != final and not meta.get("omni_canonical_failed"):
            # A duplicate (print view, sort order...) of another page: remembered with its own
            # validators, so the next crawl asks it conditionally; the canonical page is fetched
            # (and stored) in its own right, unless the hint leads nowhere (`_canonical_stands`).
            stands, request = self._canonical_stands(final, canonical, depth)
            if request is not None:
                yield request
        if stands:
            duplicate: PageItem = {
                **base,
                "url": final,
                "kind": "duplicate",
                "canonical_of": canonical,
            }
            yield duplicate
            return
        if final in state.stored:
            return  # reached again through a redirect: already stored
        state.stored.add(final)
        if meta.get("render_mode") == "playwright":
            self.count("rendered")
        page: PageItem = {
            **base,
            "kind": "page",
            "url": final,
            "requested_url": url,
            "html": response.text,
            "links": links,
        }
        yield page

    def _redirect_item(
        self, base: PageItem, url: str, final: str, known: KnownPage | None
    ) -> PageItem:
        """A redirect, remembered. A stored page that now redirects to its replacement leaves
        search once the replacement is stored with its own content; one that redirects to a page
        that does not replace it (the home page, a page above it) is a dead page: asked again
        after the dead-link back-off, and forgotten when that is confirmed."""
        now = datetime.now(UTC)
        item: PageItem = {
            **base,
            "kind": "redirect",
            "canonical_of": final,
            "etag": None,
            "last_modified": None,
            "next_check_at": (now + timedelta(days=REDIRECT_RECHECK_DAYS)).isoformat(),
        }
        if known is None or not known.content_hash:
            return item
        if replacement(url, final):
            self.state.moved[url] = final
            return item
        count, when = dead_schedule(known.dead_count, now)
        item["dead_count"], item["next_check_at"] = count, when.isoformat()
        self._forget_if_confirmed(url, known, count, f"redirected to {final}")
        return item

    def _forget_if_confirmed(
        self, url: str, known: KnownPage, dead_count: int, answer: str
    ) -> None:
        """A page with stored knowledge whose death is confirmed leaves search at the end of the
        crawl (pipelines/store.py calls db.forget.forget_pages)."""
        if known.content_hash and confirmed_gone(dead_count):
            self.state.forget[url] = f"{answer} on {dead_count} checks in a row"

    def _document(
        self, base: PageItem, final: str, url: str, response: Response
    ) -> Iterator[PageItem]:
        """A document (pipelines/documents.py extracts it) or a failure with its reason."""
        state = self.state
        if final in state.stored:
            return
        state.stored.add(final)
        state.seen.add(final)
        state.statuses[url] = state.statuses[final] = response.status
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        if final != url:
            base["etag"] = base["last_modified"] = None
        yield document_item(
            base, final, url, content_type, response.body, bool(response.meta.get("omni_document"))
        )

    def _follow_links(
        self,
        links: list[Link],
        root: HtmlElement,
        response: Response,
        depth: int,
        meta: dict[str, Any],
    ) -> Iterator[Request]:
        """Requests for the page's followable links; records what the page brought (for the
        trap bounds) on the way."""
        state = self.state
        follow = not _meta_nofollow(root)
        targets = [
            link["target_url"]
            for link in links
            if follow and link["is_internal"] and not link["nofollow"]
        ]
        own = pattern_key(meta["omni_url"])
        fresh = [t for t in targets if t not in state.seen]
        other_new = sum(1 for t in fresh if pattern_key(t) != own)
        productive = state.traps.record_page(
            own, fingerprint(response.body, meta["omni_url"]), len(fresh), other_new
        )
        # A chain grows while a page says nothing new and links only the next of its pattern.
        chain = 0 if productive else meta.get("omni_chain", 0) + 1
        for target in fresh:
            same = pattern_key(target) == own
            if request := self.page_request(target, depth + 1, chain=chain if same else 0):
                yield request

    def _canonical_stands(
        self, page: str, canonical: str, depth: int
    ) -> tuple[bool, Request | None]:
        """Whether `page` is stored as the duplicate of its `canonical`, and the request for
        the canonical if it is to be asked. rel=canonical is a hint, as search engines take it:
        one that failed in this crawl (an HTTP error, a redirect loop, off-site, no answer), or
        that will not be asked (robots, not a page) and holds nothing stored, leads nowhere, and
        taking it would lose the page's content: the page is stored as itself. While the
        canonical is unanswered the page is its duplicate, and is asked again if the canonical
        fails or is never asked (`_canonical_failed`, `idle`)."""
        answer = self._answer_of(canonical)
        request = None
        if answer is None:
            was_seen = canonical in self.state.seen
            request = self.page_request(canonical, depth)
            if request is not None or was_seen:
                self.aliases_waiting.setdefault(canonical, []).append((page, depth))
                return True, request
            known = self.state.known.get(canonical)  # stored, and not due again: it stands
            answer = "ok" if known and known.content_hash else "failed"
        if answer == "failed":
            self.count("canonical_failed")
        return answer == "ok", None

    def _answer_of(self, url: str) -> Literal["ok", "failed"] | None:
        """How a page of this crawl answered; None before it has."""
        if url in self.unreachable:
            return "failed"
        status = self.state.statuses.get(url)
        if status is None:
            return None
        return "ok" if status < 300 or status == 304 else "failed"

    def _canonical_failed(self, url: str) -> Iterator[Request]:
        """`url` failed, or will not be asked: the pages stored as its duplicates are asked
        again, to be stored as themselves (counted `canonical_failed`, no longer `duplicate`,
        like a page whose canonical had failed when it came)."""
        for alias, depth in self.aliases_waiting.pop(url, ()):
            self.count("canonical_failed")
            self.count("duplicate", -1)
            yield self._request(alias, depth, {"omni_canonical_failed": True})

    def _unreachable(self, url: str) -> Iterator[Request]:
        """`url` failed without an HTTP answer of this site (a network error, a redirect off the
        site): remembered as failed for the canonical hints (`_answer_of`), and the pages stored
        as its duplicates are asked again (`_canonical_failed`)."""
        self.unreachable.add(url)
        yield from self._canonical_failed(url)

    def on_page_error(self, failure: Failure) -> Iterator[PageItem | Request]:
        request: Request = failure.request  # type: ignore[attr-defined]  # set by Scrapy
        reason = describe_failure(failure.value, self.max_bytes)
        if reason is None:
            return
        if request.meta.get("playwright"):
            yield self._as_served(request, reason)
            return
        yield from self._unreachable(request.meta["omni_url"])
        self.count("pages_seen")
        yield {
            "kind": "failed",
            "url": request.meta["omni_url"],
            "depth": request.meta.get("omni_depth", 0),
            "error": reason,
            "http_status": None,
            "render_mode": request.meta.get("render_mode", "static"),
            "etag": None,
            "last_modified": None,
            "bytes": 0,
            "download_s": None,
        }

    def _as_served(self, request: Request, reason: str) -> Request:
        """The browser failed on a page (a timeout on a page that never finishes loading, a
        crash): the page is asked again without it and stored as served, rather than lost
        (counted `render_failed`; a static failure after that is recorded as usual)."""
        url = request.meta["omni_url"]
        self.count("render_failed")
        logger.warning("rendering %s failed (%s): storing the page as served", url, reason)
        kept = {
            key: value
            for key, value in request.meta.items()
            if key.startswith("omni_") and key not in ("omni_url", "omni_depth", "omni_app_shell")
        }
        return self._request(url, request.meta["omni_depth"], {**kept, "omni_static": True})

    def _item(self, url: str, depth: int, response: Response) -> PageItem:
        headers = response.headers
        etag = headers.get(b"ETag")
        last_modified = headers.get(b"Last-Modified")
        return {
            "url": url,
            "depth": depth,
            "http_status": response.status,
            "etag": etag.decode("latin-1") if etag else None,
            "last_modified": last_modified.decode("latin-1") if last_modified else None,
            "render_mode": response.meta.get("render_mode", "static"),
            "bytes": len(response.body),
            "download_s": response.meta.get("download_latency"),
        }

    def _canonical_of(self, root: HtmlElement, response: Response) -> str | None:
        """`<link rel=canonical>` if it points inside the site."""
        for link in root.iter("link"):
            rel = (link.get("rel") or "").lower().split()
            if "canonical" in rel and (href := link.get("href")):
                target = canonicalize(href, response.url)
                if target and in_site(target, self.state.site_hosts):
                    return target
                return None
        return None


def extract_links(root: HtmlElement, base_url: str, site_hosts: tuple[str, ...]) -> list[Link]:
    """Every http(s) `<a href>` of a page, canonicalised, once per target."""
    links: dict[str, Link] = {}
    for anchor in root.iter("a"):
        href = anchor.get("href")
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        target = canonicalize(href, base_url)
        if not target or target in links:
            continue
        rel = (anchor.get("rel") or "").lower().split()
        text = " ".join(anchor.text_content().split())[:500]
        links[target] = {
            "target_url": target,
            "anchor_text": text or None,
            "nofollow": "nofollow" in rel,
            "is_internal": in_site(target, site_hosts),
            "reference_type": "document" if resource_kind(target) == "document" else "link",
        }
    return list(links.values())


def _meta_nofollow(root: HtmlElement) -> bool:
    for meta in root.iter("meta"):
        if (meta.get("name") or "").lower() == "robots":
            return "nofollow" in (meta.get("content") or "").lower()
    return False

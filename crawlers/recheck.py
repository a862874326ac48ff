"""When a URL the crawler already knows is asked again, and in what order a crawl asks (pure).

- A dead URL (404/410) is asked again after a back-off (`DEAD_BACKOFF_DAYS`: 1, 7, then every
  30 days), not on every crawl; a redirect is re-checked weekly while its target is known.
- `crawl_order` puts the sitemap's news first: URLs whose `<lastmod>` is newer than their last
  crawl, then URLs never crawled, then the rest; URLs the sitemap says are unchanged go last. A
  budget-limited crawl so spends its budget on what changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

DEAD_BACKOFF_DAYS = (1, 7, 30)
REDIRECT_RECHECK_DAYS = 7
TRAP_RECHECK_DAYS = 30
DEAD_STATUSES = (404, 410)
# A page leaves search when it is dead on this many checks in a row (the first answer and the
# re-check after the first back-off): one bad answer never deletes anything.
CONFIRMED_DEAD_CHECKS = 2


def dead_schedule(previous_count: int | None, now: datetime) -> tuple[int, datetime]:
    """(consecutive dead answers, when to ask again) after one more 404/410."""
    count = (previous_count or 0) + 1
    days = DEAD_BACKOFF_DAYS[min(count, len(DEAD_BACKOFF_DAYS)) - 1]
    return count, now + timedelta(days=days)


def confirmed_gone(dead_count: int) -> bool:
    """Whether a page dead (404/410, or redirected to a page that is not its replacement) on
    `dead_count` checks in a row is confirmed gone."""
    return dead_count >= CONFIRMED_DEAD_CHECKS


def replacement(old_url: str, target_url: str) -> bool:
    """Whether a redirect from `old_url` leads to a page that replaces it (a moved page), rather
    than to a page that only says "not here any more": the site's home page or a page above the
    old one (`/shop/tents/x` -> `/shop/tents/` or `/shop/`)."""
    old, target = urlsplit(old_url), urlsplit(target_url)
    if old.netloc != target.netloc:
        return True
    target_path = target.path.rstrip("/")
    if not target_path:
        return False
    old_parts = [p for p in old.path.split("/") if p]
    target_parts = target_path.strip("/").split("/")
    return not (
        len(target_parts) < len(old_parts) and old_parts[: len(target_parts)] == target_parts
    )


def duplicate_skippable(
    canonical_status: int | None, last_checked: datetime | None, now: datetime, force: bool = False
) -> bool:
    """A known duplicate is not asked while its canonical page answered 304 in this crawl and
    it was itself checked within DUPLICATE_RECHECK_DAYS."""
    return (
        not force
        and canonical_status == 304
        and last_checked is not None
        and now - last_checked < timedelta(days=DUPLICATE_RECHECK_DAYS)
    )


def due(next_check_at: datetime | None, now: datetime, force: bool = False) -> bool:
    """Whether a known URL is asked this crawl (no schedule: always)."""
    return force or next_check_at is None or next_check_at <= now


def parse_time(value: Any) -> datetime | None:
    """A sitemap `<lastmod>` (W3C datetime or a date) or a stored ISO time, as aware UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# Tiers of `crawl_order` (lower first) and the Scrapy priority each gets. Duplicates come last:
# by then their canonical page has answered, and while it is unchanged they are not asked.
CHANGED, NEW, KNOWN, UNCHANGED, DUPLICATE = 0, 1, 2, 3, 4
PRIORITY = {CHANGED: 300, NEW: 200, KNOWN: 0, UNCHANGED: -100, DUPLICATE: -200}
DUPLICATE_RECHECK_DAYS = 30


@dataclass(frozen=True)
class Planned:
    url: str
    depth: int
    tier: int
    from_sitemap: bool


def tier(lastmod: datetime | None, last_crawled: datetime | None, known: bool) -> int:
    if not known:
        return NEW
    if lastmod is None or last_crawled is None:
        return KNOWN
    return CHANGED if lastmod > last_crawled else UNCHANGED


def crawl_order(
    sitemap: dict[str, str | None],
    known: dict[str, tuple[int, datetime | None]],
    duplicates: frozenset[str] | set[str] = frozenset(),
) -> list[Planned]:
    """Every URL to start with, news first. `sitemap` maps URL -> lastmod (or None); `known`
    maps URL -> (depth, last crawled) for URLs earlier crawls met and that are due;
    `duplicates` are the known URLs that duplicate another page (asked last)."""
    planned: dict[str, Planned] = {}
    for url, lastmod in sitemap.items():
        depth, crawled = known.get(url, (1, None))
        planned[url] = Planned(
            url, min(depth, 1), tier(parse_time(lastmod), crawled, url in known), True
        )
    for url, (depth, _) in known.items():
        planned.setdefault(url, Planned(url, depth, KNOWN, False))
    for url in duplicates & planned.keys():
        planned[url] = Planned(url, planned[url].depth, DUPLICATE, planned[url].from_sitemap)
    return sorted(planned.values(), key=lambda p: (p.tier, p.depth, p.url))

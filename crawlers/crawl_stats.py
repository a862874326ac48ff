"""The crawl's counters, kept in Scrapy's stats collector under `omni/<name>` (so they are in
Scrapy's stats dump too), and the job's stats dict made from them: the names without the prefix,
as `content_refresh_jobs.metadata.stats` and `progress` have always stored them."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrapy.statscollectors import StatsCollector

PREFIX = "omni/"
# Reported even when nothing counted them (the dashboard and the tests read them).
ALWAYS = (
    "pages_seen",
    "new",
    "changed",
    "unchanged",
    "duplicate",
    "failed",
    "gone",
    "bytes",
    "rendered",
    "conditional_requests",
    "not_modified",
    "trap_skipped",
    "robots_skipped",
    "documents",
    "recheck_skipped",
    "resumed",
    "sitemap_requests",
    "duplicate_skipped",
    "forgotten",
)


def count(stats: StatsCollector, name: str, n: int = 1) -> None:
    stats.inc_value(PREFIX + name, n)


def record(stats: StatsCollector, name: str, value: int) -> None:
    stats.set_value(PREFIX + name, value)


def job_stats(
    collected: dict[str, Any], started: float, now: float | None = None
) -> dict[str, Any]:
    """The job's stats from the collector's dict (pure): every `omni/` counter by its name, the
    ALWAYS ones at 0 when absent, and `duration_s` since `started` (time.monotonic)."""
    counters: dict[str, Any] = dict.fromkeys(ALWAYS, 0)
    counters.update(
        (key[len(PREFIX) :], value) for key, value in collected.items() if key.startswith(PREFIX)
    )
    elapsed = (time.monotonic() if now is None else now) - started
    return {**counters, "duration_s": round(elapsed, 3)}

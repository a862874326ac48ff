"""Crawl and sync frequencies: what a domain's `scrape_frequency` may be, and when it is next due.

Pure functions (no I/O), shared by the tenant commands (validation), the scheduler, catalogue
scheduling and the dashboard. A frequency is hourly|daily|weekly|monthly or a five-field cron
expression evaluated in UTC; NULL means the column's default, weekly.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

from croniter import croniter

from core.errors import InvalidValue

FREQUENCIES = ("hourly", "daily", "weekly", "monthly")
DEFAULT = "weekly"

_FIXED = {
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(weeks=1),
}


class InvalidFrequency(InvalidValue):
    """Not one of FREQUENCIES nor a five-field cron expression."""


def _is_cron(value: str) -> bool:
    return len(value.split()) == 5 and croniter.is_valid(value)


def validate_frequency(value: str) -> str:
    if value in FREQUENCIES or _is_cron(value):
        return value
    raise InvalidFrequency(
        f"frequency must be one of {', '.join(FREQUENCIES)} or a cron expression, not {value!r}"
    )


def _add_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def next_crawl_at(frequency: str | None, last_scraped_at: datetime | None) -> datetime | None:
    """When a domain is next due; None means now (never crawled)."""
    if last_scraped_at is None:
        return None
    last = _aware(last_scraped_at)
    frequency = DEFAULT if frequency is None else frequency.strip()
    if frequency in _FIXED:
        return last + _FIXED[frequency]
    if frequency == "monthly":
        return _add_month(last)
    if not _is_cron(frequency):
        raise InvalidFrequency(f"invalid scrape_frequency {frequency!r}")
    return croniter(frequency, last.astimezone(UTC)).get_next(datetime)


def is_due(frequency: str | None, last_scraped_at: datetime | None, now: datetime) -> bool:
    when = next_crawl_at(frequency, last_scraped_at)
    return when is None or when <= _aware(now)

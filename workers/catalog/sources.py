"""Catalogue sources: reading and recording `catalog_sources` rows, and the checks on where a
sync may connect (the tenant writes base_url: it must be the domain's own site, on a public
address)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from core.errors import InvalidValue
from crawlers.urls import host_of, in_site, is_ip_or_local
from db.connection import Conn, one
from workers.errors import PermanentError

PLATFORMS = ("woocommerce", "shopify")
CURSOR_OVERLAP = timedelta(seconds=1)  # re-read the cursor's own second: idempotent, loses nothing


def check_base_url(base_url: str, site_hosts: tuple[str, ...], allow_private: bool) -> str:
    """The API base URL if the sync may use it, else PermanentError with the reason."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentError(f"catalogue URL {base_url!r} is not an http(s) URL")
    if not in_site(base_url, site_hosts):
        raise PermanentError(
            f"catalogue URL host {host_of(base_url)} is not the domain "
            f"{site_hosts[0]} or one of its owned domains"
        )
    if not allow_private:
        # The SSRF middleware's module imports Scrapy (~0.3 s): only the sync job resolves hosts;
        # `omni catalog add` imports this module too and never pays for it.
        from crawlers.middlewares.ssrf import blocked_address, resolve  # noqa: PLC0415 - see the comment above

        try:
            addresses = resolve(parts.hostname)
        except OSError as exc:
            raise PermanentError(
                f"catalogue host {parts.hostname} does not resolve: {exc}"
            ) from None
        for address in addresses:
            if blocked_address(address):
                raise PermanentError(
                    f"blocked: {parts.hostname} resolves to non-public address {address}"
                )
    return base_url.rstrip("/")


def credentials_allowed(base_url: str) -> None:
    """WooCommerce's key and secret go in an HTTP Basic header: only over https (plain http
    only to this machine's own addresses and IP literals, which the tests use)."""
    parts = urlsplit(base_url)
    if parts.scheme != "https" and not is_ip_or_local(parts.hostname or ""):
        raise PermanentError(f"WooCommerce credentials are only sent over https, not to {base_url}")


def modified_after(cursor: datetime | None) -> str | None:
    """WooCommerce's modified_after for a stored cursor (GMT, no offset: dates_are_gmt)."""
    if cursor is None:
        return None
    return (cursor.astimezone(UTC) - CURSOR_OVERLAP).strftime("%Y-%m-%dT%H:%M:%S")


def parse_modified(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def next_cursor(cursor: datetime | None, modified: list[str | None]) -> datetime | None:
    moments = [m for m in (parse_modified(v) for v in modified) if m is not None]
    if cursor is not None:
        moments.append(cursor)
    return max(moments) if moments else None


def add_source(conn: Conn, domain_id: Any, platform: str, base_url: str | None) -> dict[str, Any]:
    if platform not in PLATFORMS:
        raise InvalidValue(f"platform must be one of {', '.join(PLATFORMS)}, not {platform!r}")
    return one(
        conn.execute(
            "INSERT INTO catalog_sources (domain_id, platform, base_url) VALUES (%s, %s, %s) "
            "ON CONFLICT (domain_id, platform) DO UPDATE SET base_url = EXCLUDED.base_url, "
            "active = true RETURNING *",
            (domain_id, platform, base_url),
        )
    )


def sources_of(conn: Conn, domain_id: Any, platform: str | None = None) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT * FROM catalog_sources WHERE domain_id = %s AND active "
        "AND (%s::text IS NULL OR platform = %s) ORDER BY platform",
        (domain_id, platform, platform),
    ).fetchall()


def record(
    conn: Conn,
    source_id: Any,
    status: str,
    error: str | None = None,
    cursor: datetime | None = None,
    products: int | None = None,
) -> None:
    conn.execute(
        "UPDATE catalog_sources SET last_status = %s, last_error = %s, "
        "last_synced_at = CASE WHEN %s = 'completed' THEN NOW() ELSE last_synced_at END, "
        "sync_cursor = COALESCE(%s, sync_cursor), products = COALESCE(%s, products) "
        "WHERE id = %s",
        (status, error, status, cursor, products, source_id),
    )

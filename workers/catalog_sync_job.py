"""The catalogue sync job (job type `catalog`): a domain's products from its shop's own API.

For each active `catalog_sources` row of the job's domain (or the one `metadata.platform`
names): fetch what changed (WooCommerce: `modified_after` the stored cursor; Shopify: every
page, compared by fingerprint), list the product ids the store still has, and in ONE
transaction write changed products, remove deleted ones, drop scraped rows with an API SKU and
move the cursor. Then one embed job for the changed products' facts. Running it twice writes
nothing the second time. Errors go to the job and to the source's last_status / last_error;
credentials go only into the API client's Authorization header.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from core.config import Settings
from core.crypto import CryptoError
from db import jobs, tenants
from db.connection import Conn
from db.credentials import get_woocommerce
from workers.catalog import shopify, woocommerce
from workers.catalog.http import ApiClient
from workers.catalog.sources import (
    check_base_url,
    credentials_allowed,
    modified_after,
    next_cursor,
    record,
    sources_of,
)
from workers.catalog.store import apply
from workers.dispatch import send_job
from workers.errors import PermanentError, TransientError

log = logging.getLogger(__name__)


def run_catalog_sync(conn: Conn, job: dict[str, Any], settings: Settings) -> dict[str, Any]:
    metadata = job.get("metadata") or {}
    domain = conn.execute(
        "SELECT id, domain FROM domains WHERE id = %s", (job["domain_id"],)
    ).fetchone()
    if domain is None:
        raise PermanentError(f"job {job['id']}: its domain no longer exists")
    sources = sources_of(conn, domain["id"], metadata.get("platform"))
    conn.commit()
    if not sources:
        raise PermanentError(
            f"no catalogue source for {domain['domain']}; "
            f"run `omni catalog add {domain['domain']} --platform ...`"
        )
    stats: dict[str, Any] = {}
    page_ids: list[str] = []
    for source in sources:
        try:
            result, ids = sync_source(conn, domain, source, settings)
        except (PermanentError, TransientError) as exc:
            conn.rollback()
            record(
                conn,
                source["id"],
                "failed" if isinstance(exc, PermanentError) else "retrying",
                str(exc)[:1000],
            )
            conn.commit()
            raise
        stats[source["platform"]] = result
        page_ids.extend(ids)
    if page_ids:
        embed_id = jobs.create(
            conn,
            domain["id"],
            "embed",
            {"page_ids": page_ids, "trigger": "catalog", "catalog_job_id": str(job["id"])},
        )
        conn.commit()
        send_job(embed_id, "embed")
        stats["embed_job_id"] = str(embed_id)
    return stats


def sync_source(
    conn: Conn, domain: dict[str, Any], source: dict[str, Any], settings: Settings
) -> tuple[dict[str, Any], list[str]]:
    platform = source["platform"]
    site_hosts = tuple(
        dict.fromkeys([domain["domain"], *tenants.owned_domains(conn, domain["domain"])])
    )
    auth = None
    base_url = source["base_url"]
    if platform == "woocommerce":
        creds = _woocommerce_credentials(conn, domain["domain"])
        base_url = base_url or creds.url
        auth = (creds.consumer_key, creds.consumer_secret)
    if not base_url:
        raise PermanentError(
            f"no {platform} URL for {domain['domain']}: `omni catalog add ... --url`"
        )
    base_url = check_base_url(base_url, site_hosts, settings.allow_private_networks)
    if auth is not None:
        credentials_allowed(base_url)
    conn.commit()
    started = time.perf_counter()
    with ApiClient(
        base_url,
        platform,
        auth=auth,
        timeout=settings.crawl_download_timeout,
        user_agent=settings.user_agent,
    ) as client:
        if platform == "woocommerce":
            fetched = woocommerce.fetch_changed(client, modified_after(source["sync_cursor"]))
            listed = woocommerce.fetch_ids(client)
        else:
            fetched = shopify.fetch_all(client, base_url)
            listed = {p.product_id for p in fetched}
        cursor = next_cursor(source["sync_cursor"], [p.modified for p in fetched])
        with conn.transaction():
            applied = apply(conn, domain["id"], platform, fetched, listed)
            record(conn, source["id"], "completed", None, cursor, len(listed))
        conn.commit()
        result = {
            "fetched": len(fetched),
            "listed": len(listed),
            "added": applied.added,
            "updated": applied.updated,
            "unchanged": applied.unchanged,
            "deleted": applied.deleted,
            "scraped_replaced": applied.scraped_replaced,
            "requests": client.requests,
            "retries": client.retries,
            "waited_s": round(client.waited_s, 3),
            "seconds": round(time.perf_counter() - started, 3),
            "incremental": platform == "woocommerce" and source["sync_cursor"] is not None,
        }
    log.info("catalogue sync %s %s: %s", domain["domain"], platform, result)
    return result, applied.page_ids


def _woocommerce_credentials(conn: Conn, domain: str) -> Any:
    try:
        creds = get_woocommerce(conn, domain, reason="catalogue sync: WooCommerce API")
    except CryptoError as exc:
        raise PermanentError(
            f"the WooCommerce credentials of {domain} cannot be decrypted: {type(exc).__name__}"
        ) from None
    if creds is None:
        raise PermanentError(
            f"no WooCommerce credentials for {domain}; run `omni secrets set-woocommerce {domain}`"
        )
    return creds

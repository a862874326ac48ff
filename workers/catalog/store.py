"""Catalogue rows in Postgres: a product's `structured_extractions` row (API values, confidence
1.0) and its facts as a `scraped_pages` row the embed job embeds; deleted products removed;
scraped product rows with an API product's SKU removed (the API wins)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg.types.json import Jsonb

from db.connection import Conn, one
from workers.catalog.model import API_SOURCE, CONFIDENCE, Product

CATALOG_SKUS_SQL = """
SELECT DISTINCT x.sku FROM structured_extractions e,
     LATERAL (SELECT e.extracted_data ->> 'sku'
              UNION ALL
              SELECT v ->> 'sku' FROM jsonb_array_elements(
                  CASE WHEN jsonb_typeof(e.extracted_data -> 'variants') = 'array'
                       THEN e.extracted_data -> 'variants' ELSE '[]'::jsonb END) v) AS x(sku)
WHERE e.domain_id = %s AND e.extract_type = 'product' AND e.schema_used ->> 'source' = %s
  AND x.sku IS NOT NULL AND x.sku <> ''
"""


def catalog_skus(conn: Conn, domain_id: Any) -> set[str]:
    """SKUs the domain's shop APIs provide: scraped values for these lose."""
    return {r["sku"] for r in conn.execute(CATALOG_SKUS_SQL, (domain_id, API_SOURCE))}


def superseded(
    extracted_data: dict[str, Any], schema_used: dict[str, Any] | None, api_skus: set[str]
) -> bool:
    """A scraped product row whose SKU the API provides (pure)."""
    if (schema_used or {}).get("source") == API_SOURCE:
        return False
    sku = extracted_data.get("sku")
    return bool(sku) and str(sku) in api_skus


@dataclass
class Applied:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    scraped_replaced: int = 0
    page_ids: list[str] = field(default_factory=list)  # facts to embed


def known_products(conn: Conn, domain_id: Any, source: str) -> dict[str, dict[str, Any]]:
    return {
        r["product_id"]: r
        for r in conn.execute(
            "SELECT id, url, metadata -> 'catalog' ->> 'product_id' AS product_id, "
            "metadata -> 'catalog' ->> 'fingerprint' AS fingerprint FROM scraped_pages "
            "WHERE domain_id = %s AND metadata -> 'catalog' ->> 'source' = %s",
            (domain_id, source),
        )
    }


def apply(
    conn: Conn,
    domain_id: Any,
    source: str,
    fetched: list[Product],
    listed_ids: set[str],
) -> Applied:
    """Write what changed, in the caller's transaction. `listed_ids`: every product the API
    lists now; known products not among them were deleted in the store."""
    out = Applied()
    known = known_products(conn, domain_id, source)
    for product in fetched:
        if product.product_id not in listed_ids:
            continue  # changed, then deleted or unpublished before the id listing
        before = known.get(product.product_id)
        fingerprint = product.fingerprint()
        if (
            before is not None
            and before["fingerprint"] == fingerprint
            and before["url"] == product.page_url
        ):
            out.unchanged += 1
            continue
        _delete_product(conn, domain_id, source, product.product_id, keep_url=product.page_url)
        conn.execute(
            "INSERT INTO structured_extractions (domain_id, url, extract_type, extracted_data, "
            "schema_used, confidence_score, extracted_at) VALUES (%s, %s, 'product', %s, %s, %s, "
            "NOW())",
            (
                domain_id,
                product.url,
                Jsonb(product.extracted_data()),
                Jsonb(product.schema_used()),
                CONFIDENCE,
            ),
        )
        metadata = {
            "content_type": "product",
            "product_url": product.url,
            "catalog": {
                "source": source,
                "product_id": product.product_id,
                "fingerprint": fingerprint,
                "modified": product.modified,
            },
        }
        row = one(
            conn.execute(
                "INSERT INTO scraped_pages (domain_id, url, title, content, metadata, status, "
                "scraped_at) "
                "VALUES (%s, %s, %s, %s, %s, 'scraped', NOW()) ON CONFLICT (domain_id, url) DO "
                "UPDATE "
                "SET "
                "title = EXCLUDED.title, content = EXCLUDED.content, metadata = EXCLUDED.metadata, "
                "status = 'scraped', error_message = NULL, scraped_at = NOW() RETURNING id",
                (domain_id, product.page_url, product.name, product.facts(), Jsonb(metadata)),
            )
        )
        out.page_ids.append(str(row["id"]))
        if before is None:
            out.added += 1
        else:
            out.updated += 1
    for product_id in set(known) - listed_ids:
        _delete_product(conn, domain_id, source, product_id)
        out.deleted += 1
    # Every product still listed was checked now: its facts page is fresh (not stale content
    # that would make the scheduler queue re-crawls for it).
    conn.execute(
        "UPDATE scraped_pages SET scraped_at = NOW() WHERE domain_id = %s "
        "AND metadata -> 'catalog' ->> 'source' = %s AND metadata -> 'catalog' ->> 'product_id' = "
        "ANY(%s)",
        (domain_id, source, list(listed_ids)),
    )
    skus = catalog_skus(conn, domain_id)
    if skus:
        out.scraped_replaced = conn.execute(
            "DELETE FROM structured_extractions WHERE domain_id = %s AND extract_type = 'product' "
            "AND schema_used ->> 'source' IS DISTINCT FROM %s "
            "AND extracted_data ->> 'sku' = ANY(%s)",
            (domain_id, API_SOURCE, list(skus)),
        ).rowcount
    return out


def _delete_product(
    conn: Conn, domain_id: Any, source: str, product_id: str, keep_url: str = ""
) -> None:
    """Its extraction row and its facts page (the embeddings go with the page); `keep_url`: the
    facts page about to be updated in place (another URL of it, an old permalink, goes)."""
    conn.execute(
        "DELETE FROM structured_extractions WHERE domain_id = %s AND extract_type = 'product' "
        "AND schema_used ->> 'source' = %s AND schema_used ->> 'platform' = %s "
        "AND schema_used ->> 'product_id' = %s",
        (domain_id, API_SOURCE, source, product_id),
    )
    conn.execute(
        "DELETE FROM scraped_pages WHERE domain_id = %s AND metadata -> 'catalog' ->> 'source' = "
        "%s "
        "AND metadata -> 'catalog' ->> 'product_id' = %s AND url <> %s",
        (domain_id, source, product_id, keep_url),
    )

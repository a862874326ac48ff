"""Per-domain counts of what came from documents and the shop's API (dashboard and
`omni domain list`): SELECT-list columns over a `domains d` row."""

from __future__ import annotations

DOCUMENT_TYPES = ("pdf", "docx", "odt", "text")

SOURCE_COUNT_COLUMNS = f"""
    (SELECT count(*) FROM scraped_pages p WHERE p.domain_id = d.id AND p.status = 'scraped'
       AND p.metadata ->> 'content_type' IN {DOCUMENT_TYPES}) AS documents,
    (SELECT count(*) FROM scraped_pages p WHERE p.domain_id = d.id AND p.status = 'failed'
       AND p.metadata ->> 'content_type' IN {DOCUMENT_TYPES}) AS documents_failed,
    (SELECT count(*) FROM structured_extractions e WHERE e.domain_id = d.id
       AND e.extract_type = 'product'
       AND e.schema_used ->> 'source' = 'shop-api') AS api_products,  -- workers/catalog
    (SELECT max(s.last_synced_at) FROM catalog_sources s WHERE s.domain_id = d.id)
       AS last_catalog_sync,
    (SELECT string_agg(s.platform || ' ' || COALESCE(s.last_status, 'not synced'), ', '
                       ORDER BY s.platform)
       FROM catalog_sources s WHERE s.domain_id = d.id) AS catalog_status"""

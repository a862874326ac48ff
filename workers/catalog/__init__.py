"""Catalogue sync from a shop's own API: WooCommerce REST v3 and Shopify's public
/products.json into `structured_extractions` (extract_type `product`) and embedded product
facts. See docs/catalog.md; the job is workers/catalog_sync_job.py."""

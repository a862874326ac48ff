"""Shopify's public storefront `/products.json` (no credentials) into `Product`s.

The endpoint has no modified-since filter: every sync reads all pages (250 products each) and
the sync writes and embeds only products whose facts changed; products no longer listed are
deleted.
"""

from __future__ import annotations

from typing import Any

from workers.catalog.http import ApiClient
from workers.catalog.model import Product, plain_text

PER_PAGE = 250


def variant_from(item: dict[str, Any]) -> dict[str, Any]:
    data = {
        "id": str(item.get("id")),
        "name": item.get("title") if item.get("title") != "Default Title" else None,
        "sku": item.get("sku") or None,
        "price": item.get("price") or None,
        "in_stock": item.get("available"),
    }
    return {k: v for k, v in data.items() if v is not None}


def product_from(item: dict[str, Any], base_url: str) -> Product:
    variants = [variant_from(v) for v in item.get("variants") or []]
    first = (item.get("variants") or [{}])[0]
    available = [v.get("available") for v in item.get("variants") or [] if "available" in v]
    compare = first.get("compare_at_price")
    single = len(variants) == 1
    return Product(
        source="shopify",
        product_id=str(item["id"]),
        url=f"{base_url.rstrip('/')}/products/{item.get('handle') or item['id']}",
        name=item.get("title") or f"product {item['id']}",
        sku=(first.get("sku") or None) if single else None,
        price=first.get("price") or None,
        regular_price=compare or None,
        sale_price=first.get("price") if compare else None,
        in_stock=any(available) if available else None,
        stock_status=None if not available else ("instock" if any(available) else "outofstock"),
        categories=[c for c in [item.get("product_type")] if c],
        variants=[] if single else variants,
        description=plain_text(item.get("body_html")),
        modified=item.get("updated_at"),
    )


def fetch_all(client: ApiClient, base_url: str) -> list[Product]:
    return [
        product_from(item, base_url)
        for item in client.paged("/products.json", {}, PER_PAGE, key="products")
    ]

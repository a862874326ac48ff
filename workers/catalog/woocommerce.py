"""WooCommerce REST API v3: products (with variations) into `Product`s.

Pure mapping (`product_from`); the fetching is `fetch_changed` / `fetch_ids` over an
`ApiClient`. Incremental: products modified after the cursor are fetched in full; the ids of
all published products (`_fields=id`, cheap) tell which were deleted.
"""

from __future__ import annotations

from typing import Any

from workers.catalog.http import ApiClient
from workers.catalog.model import Product, plain_text

API = "/wp-json/wc/v3"
PER_PAGE = 100


def _stock(item: dict[str, Any]) -> tuple[bool | None, int | None]:
    status = item.get("stock_status")
    quantity = item.get("stock_quantity")
    in_stock = None if status is None else status in ("instock", "onbackorder")
    return in_stock, quantity if isinstance(quantity, int) else None


def variant_from(item: dict[str, Any]) -> dict[str, Any]:
    in_stock, quantity = _stock(item)
    name = " / ".join(str(a.get("option")) for a in item.get("attributes") or [] if a.get("option"))
    data = {
        "id": str(item.get("id")),
        "name": name or None,
        "sku": item.get("sku") or None,
        "price": item.get("price") or None,
        "in_stock": in_stock,
        "stock_quantity": quantity,
        "stock_status": item.get("stock_status"),
    }
    return {k: v for k, v in data.items() if v is not None}


def product_from(
    item: dict[str, Any], variations: list[dict[str, Any]], currency: str | None = None
) -> Product:
    in_stock, quantity = _stock(item)
    return Product(
        source="woocommerce",
        product_id=str(item["id"]),
        url=item.get("permalink") or "",
        name=item.get("name") or f"product {item['id']}",
        sku=item.get("sku") or None,
        price=item.get("price") or None,
        regular_price=item.get("regular_price") or None,
        sale_price=item.get("sale_price") or None,
        currency=currency,
        in_stock=in_stock,
        stock_status=item.get("stock_status"),
        stock_quantity=quantity,
        categories=[c.get("name") for c in item.get("categories") or [] if c.get("name")],
        variants=[variant_from(v) for v in variations],
        description=plain_text(item.get("short_description") or item.get("description")),
        modified=item.get("date_modified_gmt") or item.get("date_modified"),
    )


def fetch_changed(client: ApiClient, modified_after: str | None) -> list[Product]:
    params: dict[str, Any] = {"status": "publish", "orderby": "modified", "order": "asc"}
    if modified_after:
        params["modified_after"] = modified_after
        params["dates_are_gmt"] = "true"
    products = []
    for item in client.paged(f"{API}/products", params, PER_PAGE):
        variations = []
        if item.get("type") == "variable" or item.get("variations"):
            variations = list(client.paged(f"{API}/products/{item['id']}/variations", {}, PER_PAGE))
        products.append(product_from(item, variations))
    return products


def fetch_ids(client: ApiClient) -> set[str]:
    return {
        str(item["id"])
        for item in client.paged(
            f"{API}/products", {"status": "publish", "_fields": "id"}, PER_PAGE
        )
    }

"""One product as the APIs describe it, in one shape for both platforms (pure)."""

from __future__ import annotations

import html
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import xxhash

CONFIDENCE = 1.0
SCHEMAS = {"woocommerce": "woocommerce-rest-v3", "shopify": "shopify-products-json"}
# schema_used.source of every API row. Not the platform's name: scraped rows from a WooCommerce or
# Shopify page already carry "woocommerce" / "shopify" there (workers/extraction).
API_SOURCE = "shop-api"
_TAG = re.compile(r"<[^>]+>")


def plain_text(markup: str | None, limit: int = 2000) -> str | None:
    """Text of an HTML description (tags dropped, entities decoded, whitespace collapsed)."""
    if not markup:
        return None
    text = " ".join(html.unescape(_TAG.sub(" ", markup)).split())
    return text[:limit] or None


@dataclass
class Product:
    source: str  # woocommerce | shopify
    product_id: str
    url: str  # the product's page in the shop
    name: str
    sku: str | None = None
    price: str | None = None
    regular_price: str | None = None
    sale_price: str | None = None
    currency: str | None = None
    in_stock: bool | None = None
    stock_status: str | None = None
    stock_quantity: int | None = None
    categories: list[str] = field(default_factory=list)
    variants: list[dict[str, Any]] = field(default_factory=list)
    description: str | None = None
    modified: str | None = None

    @property
    def skus(self) -> list[str]:
        found = [self.sku, *(v.get("sku") for v in self.variants)]
        return list(dict.fromkeys(s for s in found if s))

    @property
    def page_url(self) -> str:
        """The `scraped_pages` URL of its embedded facts: not an http URL, so the crawler never
        fetches or overwrites it; the shop link follows the prefix."""
        return f"catalog:{self.source}:{self.url}"

    def extracted_data(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if v not in (None, [], "")}
        data["name"] = self.name
        return data

    def schema_used(self) -> dict[str, Any]:
        return {
            "source": API_SOURCE,
            "api": SCHEMAS[self.source],
            "platform": self.source,
            "product_id": self.product_id,
        }

    def facts(self) -> str:
        """The product as text for embedding: what a customer asks about."""
        lines = [f"# {self.name}"]
        if self.sku:
            lines.append(f"SKU: {self.sku}")
        if self.price:
            price = f"Price: {self.price}{' ' + self.currency if self.currency else ''}"
            if self.sale_price and self.regular_price and self.sale_price != self.regular_price:
                price += f" (on sale, regular price {self.regular_price})"
            lines.append(price)
        lines.append(f"Availability: {stock_phrase(self.in_stock, self.stock_quantity)}")
        if self.categories:
            lines.append(f"Categories: {', '.join(self.categories)}")
        for variant in self.variants:
            label = variant.get("name") or variant.get("sku") or "variant"
            bits = [
                f"SKU {variant['sku']}" if variant.get("sku") else None,
                f"price {variant['price']}" if variant.get("price") else None,
                stock_phrase(variant.get("in_stock"), variant.get("stock_quantity")),
            ]
            lines.append(f"Variant {label}: {', '.join(b for b in bits if b)}")
        if self.description:
            lines.append("")
            lines.append(self.description)
        lines.append("")
        lines.append(f"Product page: {self.url}")
        return "\n".join(lines)

    def fingerprint(self) -> str:
        return xxhash.xxh3_128_hexdigest(self.facts().encode("utf-8"))


def stock_phrase(in_stock: bool | None, quantity: int | None) -> str:
    if in_stock is None:
        return "unknown"
    if not in_stock:
        return "out of stock"
    return f"in stock ({quantity} available)" if quantity is not None else "in stock"

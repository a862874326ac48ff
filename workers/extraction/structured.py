"""Products from JSON-LD, microdata, RDFa (schema.org Product) and OpenGraph product tags."""

from __future__ import annotations

from typing import Any

from workers.extraction.normalize import image_urls, parse_availability, parse_currency, parse_price
from workers.extraction.page import MarkupItem, Page, first, text_of, type_names

# How much a product found in each kind of markup is trusted.
CONFIDENCE = {"json-ld": 0.95, "microdata": 0.9, "rdfa": 0.85, "opengraph": 0.7}
PRODUCT_TYPES = ("Product", "ProductGroup", "IndividualProduct", "ProductModel", "Vehicle", "Book")


def markup_products(page: Page) -> list[tuple[dict[str, Any], dict[str, Any], float]]:
    """(product, schema_used, confidence) for each product in the page's markup."""
    found = []
    for item in page.of_type(*PRODUCT_TYPES):
        if item.source == "opengraph":
            continue
        product = schema_product(item.data, page.url)
        if product:
            schema = {"source": item.source, "type": first(type_names(item.data))}
            found.append((product, schema, CONFIDENCE[item.source]))
    for item in page.items:
        if item.source == "opengraph":
            product = opengraph_product(item.data, page.url)
            if product:
                found.append(
                    (
                        product,
                        {"source": "opengraph", "type": "og:product"},
                        CONFIDENCE["opengraph"],
                    )
                )
    return found


def schema_product(node: dict[str, Any], base_url: str) -> dict[str, Any] | None:
    name = text_of(node.get("name"))
    if not name:
        return None
    offer = _best_offer(node.get("offers"))
    price = parse_price(
        offer.get("price")
        or offer.get("lowPrice")
        or _spec(offer.get("priceSpecification"), "price")
    )
    currency = parse_currency(
        offer.get("priceCurrency") or _spec(offer.get("priceSpecification"), "priceCurrency")
    )
    product = {
        "name": name,
        "sku": text_of(
            node.get("sku") or node.get("mpn") or node.get("productID") or offer.get("sku")
        ),
        "price": price,
        "currency": currency,
        "availability": parse_availability(offer.get("availability")),
        "images": image_urls(node.get("image"), base_url),
        "url": _url(node.get("url") or offer.get("url"), base_url),
        "brand": text_of(node.get("brand")),
        "description": _short_text(text_of(node.get("description"))),
    }
    if offer.get("highPrice"):
        product["high_price"] = parse_price(offer.get("highPrice"))
    return compact(product)


def opengraph_product(og: dict[str, Any], base_url: str) -> dict[str, Any] | None:
    og_type = str(first(og.get("@type")) or first(og.get("og:type")) or "").lower()
    amount = og.get("product:price:amount") or og.get("og:price:amount")
    if "product" not in og_type and not amount:
        return None
    name = text_of(og.get("og:title"))
    if not name:
        return None
    return compact(
        {
            "name": name,
            "sku": text_of(og.get("product:retailer_item_id")),
            "price": parse_price(amount),
            "currency": parse_currency(
                og.get("product:price:currency") or og.get("og:price:currency")
            ),
            "availability": parse_availability(
                og.get("product:availability") or og.get("og:availability")
            ),
            "images": image_urls(og.get("og:image"), base_url),
            "url": _url(og.get("og:url"), base_url),
            "brand": text_of(og.get("product:brand")),
        }
    )


def _best_offer(offers: Any) -> dict[str, Any]:
    candidates = [
        o for o in (offers if isinstance(offers, list) else [offers]) if isinstance(o, dict)
    ]
    # An AggregateOffer may wrap the real offers.
    expanded: list[dict[str, Any]] = []
    for o in candidates:
        inner = o.get("offers")
        expanded.extend(
            i for i in (inner if isinstance(inner, list) else [inner]) if isinstance(i, dict)
        )
        expanded.append(o)
    with_price = [
        o for o in expanded if o.get("price") or o.get("lowPrice") or o.get("priceSpecification")
    ]
    return (with_price or expanded or [{}])[0]


def _spec(spec: Any, key: str) -> Any:
    spec = first(spec)
    return spec.get(key) if isinstance(spec, dict) else None


def _url(value: Any, base_url: str) -> str:
    urls = image_urls(first(value), base_url)
    return urls[0] if urls else base_url


def _short_text(text: str | None, limit: int = 500) -> str | None:
    return text[:limit] if text else None


def compact(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (None, "", [])}


def merge_products(
    found: list[tuple[dict[str, Any], dict[str, Any], float]],
) -> list[tuple[dict[str, Any], dict[str, Any], float]]:
    """One entry per product: the same product seen in several markups (same SKU, or same name)
    keeps the most trusted source and takes missing fields from the others."""
    merged: list[tuple[dict[str, Any], dict[str, Any], float]] = []
    for product, schema, conf in sorted(found, key=lambda f: -f[2]):
        # OpenGraph tags and platform markup describe the page's own product: with exactly one
        # product already known, they are that product even under a different title.
        page_level = schema["source"] not in CONFIDENCE or schema["source"] == "opengraph"
        for i, (kept, kept_schema, kept_conf) in enumerate(merged):
            if _same(kept, product) or (page_level and len(merged) == 1):
                extra = {k: v for k, v in product.items() if k not in kept}
                also = kept_schema.get("also", []) + [schema["source"]]
                merged[i] = (
                    {**kept, **extra},
                    {**kept_schema, "also": sorted(set(also))},
                    kept_conf,
                )
                break
        else:
            merged.append((product, schema, conf))
    return merged


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.get("sku") and b.get("sku"):
        return a["sku"] == b["sku"]
    return _key(a.get("name")) == _key(b.get("name"))


def _key(name: Any) -> str:
    return "".join(ch for ch in str(name or "").lower() if ch.isalnum())


__all__ = ["MarkupItem", "markup_products", "merge_products", "opengraph_product", "schema_product"]

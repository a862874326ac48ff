"""E-commerce platforms: detect which one a page runs on and read products with its selectors.

Selectors are CSS, optionally with `@attr` to read an attribute instead of the text. The selectors
that worked on a page are returned so the domain's next pages can try them first (domain_patterns).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from workers.extraction.normalize import image_urls, parse_availability, parse_currency, parse_price
from workers.extraction.page import Page, clean, css, node_text
from workers.extraction.structured import compact

FIELDS = ("name", "price", "currency", "sku", "availability", "images")


@dataclass(frozen=True)
class PlatformSpec:
    name: str
    html_signals: tuple[str, ...] = ()  # substrings of the raw HTML
    css_signals: tuple[str, ...] = ()  # selectors that only this platform produces
    product_gate: tuple[str, ...] = ()  # a product page has one of these (empty: always)
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    confidence: float = 0.8


WOOCOMMERCE = PlatformSpec(
    name="woocommerce",
    html_signals=(
        "wp-content/plugins/woocommerce",
        "woocommerce-Price-amount",
        'content="WooCommerce',
    ),
    css_signals=("body.woocommerce", "body.woocommerce-page", "body.single-product"),
    product_gate=("div.product .summary", "form.cart", ".product_title", "div.type-product"),
    fields={
        "name": (".product_title", ".summary h1", "h1.entry-title"),
        "price": (
            ".summary p.price ins .woocommerce-Price-amount",
            "p.price ins .woocommerce-Price-amount",
            ".summary p.price .woocommerce-Price-amount",
            "p.price .woocommerce-Price-amount",
            ".price .amount",
        ),
        "currency": (
            ".summary .woocommerce-Price-currencySymbol",
            ".woocommerce-Price-currencySymbol",
        ),
        "sku": (".sku_wrapper .sku", ".product_meta .sku", ".sku"),
        "availability": (".summary .stock", "p.stock", ".stock"),
        "images": (
            ".woocommerce-product-gallery__image a@href",
            ".woocommerce-product-gallery__image img@data-large_image",
            "img.wp-post-image@src",
        ),
    },
)

SHOPIFY = PlatformSpec(
    name="shopify",
    html_signals=("cdn.shopify.com", "Shopify.theme", ".myshopify.com", "Shopify.shop"),
    css_signals=(
        "meta[name=shopify-checkout-api-token]",
        "meta[name=shopify-digital-wallet]",
        "link[href*='cdn.shopify.com']",
    ),
    product_gate=(
        "script[data-product-json]",
        "script[id^=ProductJson]",
        "form[action*='/cart/add']",
    ),
    fields={
        "name": (
            ".product-single__title",
            "h1.product__title",
            ".product__title h1",
            "h1[itemprop=name]",
        ),
        "price": (
            "[data-product-price]",
            ".price-item--sale",
            ".price-item--regular",
            ".product-single__price",
            ".product__price",
        ),
        "currency": ("meta[property='og:price:currency']@content", "[data-currency]@data-currency"),
        "sku": ("[data-sku]", ".product-single__sku", ".product__sku"),
        "availability": ("[data-add-to-cart-text]", "button[name=add]", ".product-form__submit"),
        "images": (
            ".product__media img@src",
            ".product-single__photo img@src",
            "[data-product-featured-image]@src",
        ),
    },
    confidence=0.8,
)

GENERIC = PlatformSpec(
    name="generic",
    product_gate=(
        "form[action*=cart]",
        "button[name=add-to-cart]",
        "[class*=add-to-cart]",
        "[class*=add_to_cart]",
        "[id*=add-to-cart]",
    ),
    fields={
        "name": ("h1[itemprop=name]", ".product-name", ".product-title", "h1"),
        "price": ("[itemprop=price]@content", "[itemprop=price]", ".product-price", ".price"),
        "currency": ("[itemprop=priceCurrency]@content", ".currency"),
        "sku": ("[itemprop=sku]", ".sku", "[data-sku]@data-sku"),
        "availability": ("[itemprop=availability]@href", ".availability", ".stock"),
        "images": (
            ".product img@src",
            ".product-image img@src",
            "meta[property='og:image']@content",
        ),
    },
    confidence=0.5,
)

PLATFORMS = {p.name: p for p in (WOOCOMMERCE, SHOPIFY, GENERIC)}
SHOPIFY_JSON = (
    "script[data-product-json]",
    "script[id^=ProductJson]",
    "script[type='application/json'][data-product]",
)
_SHOPIFY_CURRENCY = re.compile(r'Shopify\.currency\s*=\s*\{[^}]*"active"\s*:\s*"([A-Z]{3})"')


@dataclass
class Detection:
    platform: str
    signals: list[str]
    confidence: float


@dataclass
class PlatformResult:
    platform: str
    products: list[dict[str, Any]]
    selectors: dict[str, str]  # field -> the selector that gave its value
    learned_used: bool  # a selector learned on an earlier page gave a value
    confidence: float


def detect_platform(page: Page) -> Detection:
    best = Detection("generic", [], 0.3)
    for spec in (WOOCOMMERCE, SHOPIFY):
        signals = [s for s in spec.html_signals if s in page.html]
        signals += [s for s in spec.css_signals if css(page.tree, s)]
        if len(signals) > len(best.signals):
            best = Detection(spec.name, signals, min(0.5 + 0.15 * len(signals), 0.99))
    return best


def platform_products(
    page: Page, platform: str, learned: dict[str, str] | None = None
) -> PlatformResult:
    """The product on this page read with `platform`'s selectors, `learned` ones tried first."""
    spec = PLATFORMS.get(platform, GENERIC)
    learned = learned or {}
    if spec.product_gate and not any(css(page.tree, s) for s in spec.product_gate):
        return PlatformResult(spec.name, [], {}, False, 0.0)

    if spec is SHOPIFY:
        result = _shopify_json(page, learned.get("product_json"))
        if result:
            return result

    values: dict[str, Any] = {}
    used: dict[str, str] = {}
    learned_used = False
    for name in FIELDS:
        candidates = _ordered(spec.fields.get(name, ()), learned.get(name))
        for selector in candidates:
            value = _read(page, name, selector)
            if value:
                values[name], used[name] = value, selector
                learned_used |= selector == learned.get(name)
                break
    if not values.get("name") or not values.get("price"):
        return PlatformResult(spec.name, [], {}, False, 0.0)
    if "currency" not in values:
        values["currency"] = _currency_from_page(page, spec, used)
    values["url"] = page.url
    confidence = min(spec.confidence + (0.05 if learned_used else 0), 0.95)
    return PlatformResult(spec.name, [compact(values)], used, learned_used, confidence)


def _ordered(selectors: tuple[str, ...], learned: str | None) -> list[str]:
    return [learned, *[s for s in selectors if s != learned]] if learned else list(selectors)


def _read(page: Page, field_name: str, selector: str) -> Any:
    css_part, _, attr = selector.partition("@")
    elements = css(page.tree, css_part)
    if not elements:
        return None
    raw = [(el.get(attr) if attr else node_text(el)) for el in elements]
    raw = [r for r in raw if r]
    if not raw:
        return None
    if field_name == "images":
        return image_urls(raw, page.url)[:10] or None
    if field_name == "price":
        return parse_price(raw[0])
    if field_name == "currency":
        return parse_currency(raw[0])
    if field_name == "availability":
        classes = elements[0].get("class") or ""
        return parse_availability(raw[0]) or parse_availability(classes.replace("-", " "))
    return clean(raw[0])


def _currency_from_page(page: Page, spec: PlatformSpec, used: dict[str, str]) -> str | None:
    if "price" in used:  # a symbol inside the price text
        css_part = used["price"].partition("@")[0]
        for el in css(page.tree, css_part)[:1]:
            found = parse_currency(node_text(el))
            if found:
                return found
    match = _SHOPIFY_CURRENCY.search(page.html)
    return match.group(1) if match else None


def _shopify_json(page: Page, learned_selector: str | None) -> PlatformResult | None:
    for selector in _ordered(SHOPIFY_JSON, learned_selector):
        for script in css(page.tree, selector):
            try:
                data = json.loads(script.text or "")
            except ValueError:
                continue
            data = data.get("product", data) if isinstance(data, dict) else None
            product = shopify_product(data, page) if isinstance(data, dict) else None
            if product:
                learned_used = selector == learned_selector
                return PlatformResult(
                    "shopify",
                    [product],
                    {"product_json": selector},
                    learned_used,
                    0.9 if learned_used else 0.85,
                )
    return None


def shopify_product(data: dict[str, Any], page: Page) -> dict[str, Any] | None:
    """A product from Shopify's product JSON (`{{ product | json }}` or /products/<handle>.js)."""
    title = clean(str(data.get("title") or ""))
    if not title:
        return None
    variants = [v for v in data.get("variants") or [] if isinstance(v, dict)]
    variant = next((v for v in variants if v.get("available")), variants[0] if variants else {})
    price = _shopify_price(variant.get("price", data.get("price")))
    available = variant.get("available", data.get("available"))
    images = data.get("images") or ([data["featured_image"]] if data.get("featured_image") else [])
    match = _SHOPIFY_CURRENCY.search(page.html)
    currency = match.group(1) if match else _currency_from_meta(page)
    product = {
        "name": title,
        "sku": clean(str(variant.get("sku") or "")) or None,
        "price": price,
        "currency": currency,
        "availability": None if available is None else ("InStock" if available else "OutOfStock"),
        "images": image_urls(images, page.url)[:10],
        "url": image_urls([f"/products/{data['handle']}"], page.url)[0]
        if data.get("handle")
        else page.url,
        "brand": clean(str(data.get("vendor") or "")) or None,
    }
    if len(variants) > 1:
        product["variants"] = len(variants)
    return compact(product)


def _shopify_price(value: Any) -> str | None:
    # Shopify's product JSON gives integer cents; formatted strings ("19.99") are already units.
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return parse_price(int(value) / 100)
    return parse_price(value)


def _currency_from_meta(page: Page) -> str | None:
    for el in css(
        page.tree, "meta[property='og:price:currency'], meta[property='product:price:currency']"
    ):
        return parse_currency(el.get("content"))
    return None

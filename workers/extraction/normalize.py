"""Normalisers for product fields: prices, currencies, availability, images."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urljoin

from workers.extraction.page import clean, first

CURRENCY_SYMBOLS = {
    "$": "USD",
    "US$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "A$": "AUD",
    "C$": "CAD",
    "CA$": "CAD",
    "NZ$": "NZD",
    "CHF": "CHF",
    "kr": "SEK",
    "zł": "PLN",
    "R$": "BRL",
}
_ISO = re.compile(r"\b([A-Z]{3})\b")
_NUMBER = re.compile(r"\d[\d.,\s\u00a0']*")

AVAILABILITY = {
    "instock": "InStock",
    "in stock": "InStock",
    "in_stock": "InStock",
    "available": "InStock",
    "true": "InStock",
    "outofstock": "OutOfStock",
    "out of stock": "OutOfStock",
    "out_of_stock": "OutOfStock",
    "sold out": "OutOfStock",
    "soldout": "OutOfStock",
    "false": "OutOfStock",
    "unavailable": "OutOfStock",
    "preorder": "PreOrder",
    "pre-order": "PreOrder",
    "backorder": "BackOrder",
    "onbackorder": "BackOrder",
    "on backorder": "BackOrder",
    "discontinued": "Discontinued",
    "limitedavailability": "LimitedAvailability",
    "instoreonly": "InStoreOnly",
    "onlineonly": "OnlineOnly",
}


def parse_price(value: Any) -> str | None:
    """A decimal string ('1299.00') from '1.299,00 €', '$1,299', 12.5 ...; None if there is none."""
    value = first(value)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return _fmt(Decimal(str(value)))
    match = _NUMBER.search(str(value))
    if not match:
        return None
    number = re.sub(r"[\s\u00a0']", "", match.group(0)).rstrip(".,")
    if "," in number and "." in number:
        # whichever separator comes last is the decimal one
        if number.rfind(",") > number.rfind("."):
            number = number.replace(".", "").replace(",", ".")
        else:
            number = number.replace(",", "")
    elif "," in number:
        head, _, tail = number.rpartition(",")
        number = f"{head.replace(',', '')}.{tail}" if len(tail) != 3 else number.replace(",", "")
    elif number.count(".") > 1:
        head, _, tail = number.rpartition(".")
        number = f"{head.replace('.', '')}.{tail}" if len(tail) != 3 else number.replace(".", "")
    try:
        return _fmt(Decimal(number))
    except InvalidOperation:
        return None


def _fmt(d: Decimal) -> str:
    exponent = d.as_tuple().exponent
    if d < 0 or not isinstance(exponent, int):  # negative, or infinite (a NaN raises above)
        raise InvalidOperation
    return str(d.quantize(Decimal("0.01"))) if exponent >= -2 else str(d.normalize())


def parse_currency(value: Any) -> str | None:
    """An ISO 4217 code from 'EUR', '€', 'US$ 12' ...; None if there is none."""
    text = clean(str(first(value) or ""))
    if not text:
        return None
    iso = _ISO.search(text)
    if iso:
        return iso.group(1)
    for symbol in sorted(CURRENCY_SYMBOLS, key=len, reverse=True):
        if symbol in text:
            return CURRENCY_SYMBOLS[symbol]
    return None


def parse_availability(value: Any) -> str | None:
    text = clean(str(first(value) or "")).rsplit("/", 1)[-1]
    if not text:
        return None
    key = text.lower()
    if key in AVAILABILITY:
        return AVAILABILITY[key]
    for phrase, normal in AVAILABILITY.items():
        if " " in phrase and phrase in key:
            return normal
    if re.search(r"\b\d+\s+in stock\b", key):
        return "InStock"
    return text if text[:1].isupper() and " " not in text else None


def image_urls(value: Any, base_url: str) -> list[str]:
    values = value if isinstance(value, list) else [value]
    out: list[str] = []
    for v in values:
        if isinstance(v, dict):
            v = first(v.get("url") or v.get("contentUrl") or v.get("@id"))
        if isinstance(v, str) and v.strip() and not v.startswith("data:"):
            url = urljoin(base_url, v.strip())
            if url.startswith("//"):
                url = "https:" + url
            if url not in out:
                out.append(url)
    return out

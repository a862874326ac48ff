"""One page in, `structured_extractions` rows and `domain_patterns` updates out."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from workers.extraction.contacts import extract_contacts
from workers.extraction.faq import extract_faqs
from workers.extraction.page import Page
from workers.extraction.platforms import detect_platform, platform_products
from workers.extraction.structured import markup_products, merge_products

MARKUP_SOURCES = ("json-ld", "microdata", "rdfa")


@dataclass
class ExtractionRow:
    extract_type: str  # 'product' | 'faq' | 'contact'
    extracted_data: dict[str, Any]
    confidence_score: float
    schema_used: dict[str, Any]


@dataclass
class PatternUpdate:
    pattern_type: str  # 'platform' | 'product' | 'faq' | 'contact'
    platform: str | None
    selectors: dict[str, Any]
    success: bool | None  # None: this page says nothing either way


@dataclass
class PageExtraction:
    platform: str
    rows: list[ExtractionRow] = field(default_factory=list)
    patterns: list[PatternUpdate] = field(default_factory=list)

    def count(self, extract_type: str) -> int:
        return sum(1 for r in self.rows if r.extract_type == extract_type)


def extract_page(
    html: str, url: str, learned: dict[str, dict[str, Any]] | None = None
) -> PageExtraction:
    """`learned` maps pattern_type to the domain's domain_patterns row (as a dict)."""
    learned = learned or {}
    page = Page.parse(html, url)
    product_rows, platform_update = _products(page, learned.get("platform"))
    result = PageExtraction(platform=platform_update.platform or "generic")
    result.rows.extend(product_rows)
    result.patterns.append(platform_update)
    if product_rows:
        sources = sorted(
            {
                s
                for r in product_rows
                for s in [r.schema_used["source"], *r.schema_used.get("also", [])]
            }
        )
        result.patterns.append(
            PatternUpdate("product", result.platform, {"sources": sources}, True)
        )

    faq_rows, faq_update = _faqs(page, learned.get("faq"))
    result.rows.extend(faq_rows)
    if faq_update:
        result.patterns.append(faq_update)

    contacts = extract_contacts(page)
    if contacts.found():
        result.rows.append(
            ExtractionRow(
                "contact", contacts.as_data(), contacts.confidence, {"sources": contacts.sources}
            )
        )
        result.patterns.append(PatternUpdate("contact", None, {"sources": contacts.sources}, True))
    return result


def _products(
    page: Page, learned: dict[str, Any] | None
) -> tuple[list[ExtractionRow], PatternUpdate]:
    detection = detect_platform(page)
    learned_fields: dict[str, str] = {}
    platform = detection.platform
    if learned and learned.get("platform"):
        if (
            platform == "generic"
        ):  # this page shows no platform signal: trust what the domain taught us
            platform = learned["platform"]
        if platform == learned["platform"]:
            learned_fields = dict((learned.get("selectors") or {}).get("fields") or {})
    found = platform_products(page, platform, learned_fields)
    candidates = markup_products(page)
    platform_schema = {
        "source": found.platform,
        "selectors": found.selectors,
        "learned": found.learned_used,
    }
    candidates += [(p, dict(platform_schema), found.confidence) for p in found.products]

    rows = []
    for product, schema, confidence in merge_products(candidates):
        if found.platform in schema.get("also", []):
            schema = {**schema, "platform": platform_schema}
        rows.append(ExtractionRow("product", product, round(confidence, 3), schema))

    if found.products:
        success: bool | None = True
    elif learned_fields and any(
        s in MARKUP_SOURCES for _, sch, _ in candidates for s in [sch["source"]]
    ):
        success = False  # a product page the learned selectors could not read
    else:
        success = None
    selectors = {
        "signals": detection.signals,
        "detected_confidence": detection.confidence,
        "fields": {**learned_fields, **found.selectors},
    }
    return rows, PatternUpdate("platform", found.platform, selectors, success)


def _faqs(
    page: Page, learned: dict[str, Any] | None
) -> tuple[list[ExtractionRow], PatternUpdate | None]:
    learned_sel = (learned or {}).get("selectors") or {}
    pairs = extract_faqs(page, learned_sel)
    rows = []
    for position, pair in enumerate(pairs):
        schema: dict[str, Any] = {"source": pair.method}
        if pair.method in MARKUP_SOURCES:
            schema["type"] = "FAQPage/Question"
        else:
            schema["selector"] = pair.selector
            schema["learned"] = pair.method == learned_sel.get(
                "method"
            ) and pair.selector == learned_sel.get("selector")
        rows.append(
            ExtractionRow(
                "faq",
                {"question": pair.question, "answer": pair.answer, "position": position},
                round(pair.confidence, 3),
                schema,
            )
        )
    if not pairs:
        return rows, None
    method, selector = Counter((p.method, p.selector) for p in pairs).most_common(1)[0][0]
    return rows, PatternUpdate("faq", None, {"method": method, "selector": selector}, True)

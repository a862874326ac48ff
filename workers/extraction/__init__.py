"""Structured extraction from one HTML page: products, FAQs and contact details.

Pure functions (no I/O): `extract_page(html, url, learned)` returns the rows for
`structured_extractions` and what was learned for `domain_patterns`. See docs/extraction.md.
"""

from workers.extraction.extractor import ExtractionRow, PageExtraction, extract_page

__all__ = ["ExtractionRow", "PageExtraction", "extract_page"]

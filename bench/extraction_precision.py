"""Precision and recall of the extracted contacts and FAQs on two hand-labelled sites: the shop
(the demo roastery and the extraction fixture pages) and 30 pages of Debian's Python 3.11 docs
(tests/support/extraction_labels.py). Prints each site's figures and the wrong and missed facts.

    .venv/bin/python bench/extraction_precision.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import extraction_labels as labels
from workers.extraction import extract_page


def score(site: str) -> tuple[float, float, set, set]:
    pages = labels.shop_pages() if site == "shop" else labels.docs_pages()
    found = set()
    for url, html in pages:
        found |= labels.found_facts(url, extract_page(html, url).rows)
    wanted = labels.expected(site)
    precision, recall = labels.precision_recall(found, wanted)
    return precision, recall, found - wanted, wanted - found


def main() -> None:
    if not labels.PYTHON_DOCS.is_dir():
        sys.exit(f"{labels.PYTHON_DOCS} is missing: apt-get install python3.11-doc")
    for site in ("shop", "docs"):
        precision, recall, wrong, missed = score(site)
        print(
            f"{site}: precision {precision:.3f} recall {recall:.3f} "
            f"({len(wrong)} wrong, {len(missed)} missed)"
        )
        for kind, facts in (("wrong", wrong), ("missed", missed)):
            for url, fact_kind, value in sorted(facts)[:40]:
                print(f"  {kind}: {url.rsplit('/', 2)[-2:]} {fact_kind} {value[:70]!r}")


if __name__ == "__main__":
    main()

"""Extraction and offline-optimisation throughput on the test fixture pages (single core).

.venv/bin/python bench/extraction_bench.py [rounds]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import lxml.html

from workers.extraction import extract_page
from workers.optimization import offline
from workers.optimization.base import PageInput
from workers.optimization.scores import content_quality_score, flesch_reading_ease, seo_score

PAGES = Path(__file__).resolve().parent.parent / "tests" / "workers_extract" / "pages"


def text_of(html: str) -> str:
    tree = lxml.html.fromstring(html)
    for bad in tree.xpath("//script|//style"):
        bad.drop_tree()
    return "\n".join(line.strip() for line in tree.text_content().splitlines() if line.strip())


def main(rounds: int = 50) -> None:
    pages = [(p.name, p.read_text(encoding="utf-8")) for p in sorted(PAGES.glob("*.html"))]
    texts = [text_of(html) for _, html in pages]
    n = rounds * len(pages)

    started = time.perf_counter()
    for _ in range(rounds):
        for name, html in pages:
            extract_page(html, f"https://bench.test/{name}")
    extract_s = time.perf_counter() - started

    started = time.perf_counter()
    for _ in range(rounds):
        for (name, _), text in zip(pages, texts, strict=False):
            c = offline.optimize(PageInput(url=name, title=name, content=text)).content
            flesch_reading_ease(c.content)
            content_quality_score(c.content)
            seo_score(c.meta_title, c.meta_description, c.content, [], c.keywords)
    optimize_s = time.perf_counter() - started

    # a large page: a long article with 200 question headings (~100 KiB)
    body = "".join(
        f"<h3>How does feature {i} work?</h3><p>{'It works well and is documented. ' * 12}</p>"
        for i in range(200)
    )
    big = f"<html><body><main>{body}</main><a href='mailto:a@b.test'>mail</a></body></html>"
    started = time.perf_counter()
    for _ in range(5):
        extract_page(big, "https://bench.test/big")
    big_ms = 1000 * (time.perf_counter() - started) / 5
    started = time.perf_counter()
    for _ in range(5):
        offline.optimize(PageInput(url="big", title="Big", content=text_of(big)))
    big_opt_ms = 1000 * (time.perf_counter() - started) / 5

    size = sum(len(h) for _, h in pages) / len(pages)
    print(f"pages: {len(pages)} fixtures x {rounds} rounds, mean HTML {size / 1024:.1f} KiB")
    print(
        f"extract_page:            {n / extract_s:8.1f} pages/s  ({1000 * extract_s / n:.2f} "
        "ms/page)"
    )
    print(
        f"offline optimise+scores: {n / optimize_s:8.1f} pages/s  ({1000 * optimize_s / n:.2f} "
        "ms/page)"
    )
    print(
        f"large page ({len(big) / 1024:.0f} KiB, 200 FAQ headings): extract {big_ms:.1f} ms, "
        f"offline optimise {big_opt_ms:.1f} ms"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)

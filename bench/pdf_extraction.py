"""PDF text extraction speed per page: pypdfium2 (what the crawler uses) vs pypdf vs
pdfminer.six on the same generated manual. Prints ms per page (median of the rounds).

    .venv/bin/python bench/pdf_extraction.py [--pages 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from content.doctext import extract_document
from tests.support.documents import manual_pdf


def omni_pypdfium2(data: bytes) -> int:
    return len(extract_document(data, "pdf", 10_000).text)


def raw_pypdfium2(data: bytes) -> int:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(data)
    total = 0
    for page in doc:
        textpage = page.get_textpage()
        total += len(textpage.get_text_range())
        textpage.close()
        page.close()
    doc.close()
    return total


def pypdf_text(data: bytes) -> int:
    from pypdf import PdfReader

    return sum(len(page.extract_text() or "") for page in PdfReader(io.BytesIO(data)).pages)


def pdfminer_text(data: bytes) -> int:
    from pdfminer.high_level import extract_text

    return len(extract_text(io.BytesIO(data)))


CANDIDATES = {
    "omni (pypdfium2 + headings + paragraphs)": omni_pypdfium2,
    "pypdfium2 raw text": raw_pypdfium2,
    "pypdf extract_text": pypdf_text,
    "pdfminer.six extract_text": pdfminer_text,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data = manual_pdf(args.pages)
    print(
        f"manual: {args.pages} pages, {len(data)} bytes; {args.rounds} rounds, "
        "candidates interleaved in each round"
    )
    times: dict[str, list[float]] = {name: [] for name in CANDIDATES}
    chars: dict[str, int] = {}
    for _ in range(args.rounds):
        for name, fn in CANDIDATES.items():
            started = time.perf_counter()
            chars[name] = fn(data)
            times[name].append(time.perf_counter() - started)
    base = statistics.median(times["omni (pypdfium2 + headings + paragraphs)"])
    print(f"{'library':44} {'ms/page':>8} {'pages/s':>8} {'vs omni':>8} {'chars':>9}")
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name:44} {median / args.pages * 1000:8.2f} {args.pages / median:8.0f} "
            f"{median / base:7.1f}x {chars[name]:9d}"
        )


if __name__ == "__main__":
    main()

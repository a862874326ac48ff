"""Main-content quality on pages with hand-marked main text: the project's extractor vs trafilatura.

    .venv/bin/python bench/extraction_quality.py PAGES.jsonl.gz [--limit N] [--walker] [--out DIR]

PAGES: one JSON object a line, {"id", "set", "html_b64", "gold"} (html_b64: the page's bytes as
served). Bytes are decoded as the crawler decodes them (pipelines.charset). Both extractors run
on each page in turn, in this process, so their times are side by side.

Metric: word 4-gram shingles (multisets, tokens = regex \\w+) of the output and of the gold text;
per page precision = shared / output shingles and recall = shared / gold shingles (a page whose
output and gold are both empty scores 1/1; an empty output has no precision); the means over the
pages of a set; F1 of the two means. Prints one line per set and extractor.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import trafilatura

from pipelines.charset import decode_html
from pipelines.extract import extract_html
from pipelines.main_content import main_content_text

WORD = re.compile(r"\w+", re.UNICODE)


def grams(text: str) -> Counter[tuple[str, ...]]:
    words = WORD.findall(text or "")
    return Counter(tuple(words[i:i + 4]) for i in range(max(1, len(words) - 3)) if words[i:i + 4])


def page_precision_recall(gold: str, output: str) -> tuple[float | None, float | None]:
    want, got = grams(gold), grams(output)
    shared = sum((want & got).values())
    extra, missed = sum((got - want).values()), sum((want - got).values())
    if extra == missed == 0:
        return 1.0, 1.0
    precision = shared / (shared + extra) if shared + extra else None
    recall = shared / (shared + missed) if shared + missed else None
    return precision, recall


EXTRACTORS: dict[str, Callable[[bytes], str]] = {
    # what the workers store for a page (no site template: the pages are from many sites)
    "omni": lambda body: main_content_text(decode_html(body)),
    "trafilatura": lambda body: trafilatura.extract(body) or "",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages")
    parser.add_argument("--limit", type=int, default=0, help="first N pages only")
    parser.add_argument("--walker", action="store_true", help="also the old lxml walker")
    parser.add_argument("--out", type=Path, help="write OUT/<extractor>.jsonl ({id, text})")
    args = parser.parse_args()
    extractors = dict(EXTRACTORS)
    if args.walker:
        extractors["lxml-walker"] = lambda body: extract_html(decode_html(body)).text
    with gzip.open(args.pages, "rt", encoding="utf-8") as fh:
        pages = [json.loads(line) for line in fh if line.strip()]
    if args.limit:
        pages = pages[:args.limit]
    # (extractor, set) -> precisions, recalls, seconds
    results: dict[tuple[str, str], tuple[list[float], list[float], list[float]]] = \
        defaultdict(lambda: ([], [], []))
    outputs: dict[str, list[dict[str, str]]] = defaultdict(list)
    for page in pages:
        body = base64.b64decode(page["html_b64"])
        for name, extract in extractors.items():
            started = time.perf_counter()
            text = extract(body)
            seconds = time.perf_counter() - started
            outputs[name].append({"id": page["id"], "text": text})
            precision, recall = page_precision_recall(page["gold"], text)
            for set_name in ("all", page["set"]):
                ps, rs, ts = results[name, set_name]
                if precision is not None:
                    ps.append(precision)
                if recall is not None:
                    rs.append(recall)
                ts.append(seconds)
    print(f"{len(pages)} pages, {len(extractors)} extractors run side by side on each page")
    print(f"{'set':16s} {'extractor':12s} {'pages':>5s} {'F1':>6s} {'prec':>6s} {'recall':>6s} "
          f"{'ms/page':>8s} {'median':>7s}")
    sets = sorted({s for _, s in results}, key=lambda s: (s != "all", s))
    for set_name in sets:
        for name in extractors:
            ps, rs, ts = results[name, set_name]
            p, r = statistics.mean(ps or [0.0]), statistics.mean(rs or [0.0])
            f1 = 2 * p * r / (p + r) if p + r else 0.0
            print(f"{set_name:16s} {name:12s} {len(ts):5d} {f1:6.3f} {p:6.3f} {r:6.3f} "
                  f"{1000 * statistics.mean(ts):8.1f} {1000 * statistics.median(ts):7.1f}")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, rows in outputs.items():
            with open(args.out / f"{name}.jsonl", "w", encoding="utf-8") as fh:
                fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


if __name__ == "__main__":
    main()

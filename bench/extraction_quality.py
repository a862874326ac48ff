"""Main-content quality on pages with hand-marked main text: the project vs trafilatura, side by
side on each page in one process, on a fixed split (tuning half / held-out half).

    .venv/bin/python bench/extraction_quality.py DATASET [--limit N] [--out DIR]

DATASET is either a WCXB-style directory (`gold.jsonl.gz` of {"id", "page_type", "url",
"main_content"} and `html/<id>.html.gz`) or an extraction-dev-style `pages.jsonl.gz` of {"id",
"set", "html_b64", "gold"}. Bytes are decoded as the crawler decodes them. The project's text is
`omni extract`'s (interfaces.cli.extract_cmd.report: the main-content stage's output, no site
template since the pages come from many sites); trafilatura is `trafilatura.extract(bytes)`,
called in a process of its own (bench/stock_trafilatura.py) so that it runs as installed: the
stage changes one of trafilatura's fallbacks in the process that imports it (its speed, not its
output). Until 2026-12-03 (latest) both ran in this process, so the reference got that change too.

The split is fixed: a page is in the tuning half when CRC-32 of its id is even, else held out.
Metric: each data set's own. WCXB: bag-of-words F1 of lower-cased \\w+ tokens per page, the mean
(as its score.py). extraction-dev: word 4-gram shingles, per-page precision and recall, F1 of
their means (as its score.py). Rows per half and page type (WCXB) or source set; time is the
mean per page of the call alone. `--shard K/N` splits a slow run over N processes (each page
is still run by both extractors in turn); `--out` writes each page's outputs as it goes.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import re
import statistics
import subprocess
import sys
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from content.charset import decode_html
from core import processes
from interfaces.cli.extract_cmd import report

WORD = re.compile(r"\w+", re.UNICODE)
HALVES = ("tuning", "held-out")


def half_of(page_id: str) -> str:
    return HALVES[zlib.crc32(page_id.encode()) % 2]


def shingles(text: str) -> Counter[tuple[str, ...]]:
    words = WORD.findall(text or "")
    return Counter(
        tuple(words[i : i + 4]) for i in range(max(1, len(words) - 3)) if words[i : i + 4]
    )


def shingle_precision_recall(gold: str, output: str) -> tuple[float | None, float | None]:
    want, got = shingles(gold), shingles(output)
    shared = sum((want & got).values())
    extra, missed = sum((got - want).values()), sum((want - got).values())
    if extra == missed == 0:
        return 1.0, 1.0
    return (
        shared / (shared + extra) if shared + extra else None,
        shared / (shared + missed) if shared + missed else None,
    )


def word_f1(gold: str, output: str) -> float:
    got, want = WORD.findall(output.lower()), WORD.findall(gold.lower())
    if not want:
        return 1.0 if not got else 0.0
    shared = sum((Counter(got) & Counter(want)).values()) if got else 0
    if not shared:
        return 0.0
    precision, recall = shared / len(got), shared / len(want)
    return 2 * precision * recall / (precision + recall)


def pages(
    dataset: Path, shard: tuple[int, int] = (0, 1)
) -> Iterator[tuple[str, str, str | None, bytes, str]]:
    """(id, group, url, body, gold) per page, in the order of CRC-32 of their ids (the data
    sets are grouped by kind, so a run stopped early is still a sample of every kind), only
    the pages of `shard` (k, n): the k-th of every n."""

    def mine(rows: list[dict]) -> list[dict]:
        rows = sorted(rows, key=lambda row: (zlib.crc32(row["id"].encode()), row["id"]))
        return rows[shard[0] :: shard[1]]

    if dataset.is_dir():
        with gzip.open(dataset / "gold.jsonl.gz", "rt", encoding="utf-8") as fh:
            golds = mine([json.loads(line) for line in fh])
        for g in golds:
            with gzip.open(dataset / "html" / f"{g['id']}.html.gz") as page:
                body = page.read()
            yield g["id"], g["page_type"], g.get("url"), body, g["main_content"]
    else:
        with gzip.open(dataset, "rt", encoding="utf-8") as fh:
            for p in mine([json.loads(line) for line in fh]):
                yield p["id"], p["set"], None, base64.b64decode(p["html_b64"]), p["gold"]


@contextmanager
def stock_trafilatura() -> Iterator[Callable[[bytes], tuple[str, float]]]:
    """trafilatura.extract in its own process: (text, seconds of the call alone) per page."""
    child = processes.spawn(
        [sys.executable, str(Path(__file__).with_name("stock_trafilatura.py"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None

    def extract(body: bytes) -> tuple[str, float]:
        child.stdin.write(b"%d\n" % len(body) + body)
        child.stdin.flush()
        line = child.stdout.readline()
        if not line:
            raise SystemExit(f"the trafilatura process died (status {child.wait()})")
        answer = json.loads(line)
        return answer["text"], answer["seconds"]

    try:
        yield extract
    finally:
        child.stdin.close()
        processes.stop(child)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--limit", type=int, default=0, help="first N pages only")
    parser.add_argument(
        "--shard",
        default="0/1",
        help="K/N: only the K-th of every N pages "
        "(N processes share a slow run; each page is still scored for both)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="write OUT/<extractor>.jsonl ({id, half, group, "
        "seconds, text}), a line per page as it is done",
    )
    args = parser.parse_args()
    wcxb = args.dataset.is_dir()
    # (extractor, half, group) -> scores (WCXB: F1; else (precision, recall)), seconds
    scores: dict[tuple[str, str, str], list] = defaultdict(list)
    seconds: dict[tuple[str, str], list[float]] = defaultdict(list)
    if args.out:  # written as the pages go, so a run stopped halfway still has its pages
        args.out.mkdir(parents=True, exist_ok=True)
        files = {
            name: open(args.out / f"{name}.jsonl", "w", encoding="utf-8")  # noqa: SIM115
            for name in ("omni", "trafilatura")
        }
    report("<html><body><p>warm-up</p></body></html>", None, chunks=False)  # imports, untimed
    k, n_shards = (int(part) for part in args.shard.split("/"))
    with stock_trafilatura() as reference:
        for n, page in enumerate(pages(args.dataset, (k, n_shards))):
            if args.limit and n >= args.limit:
                break
            run_page(page, reference, wcxb, scores, seconds, files if args.out else None)
    print_rows(scores, seconds, wcxb)
    if args.out:
        for fh in files.values():
            fh.close()


def omni_text(body: bytes, url: str | None) -> tuple[str, float]:
    started = time.perf_counter()
    text = report(decode_html(body), url, chunks=False)["text"]
    return text, time.perf_counter() - started


def run_page(
    page: tuple[str, str, str | None, bytes, str],
    reference: Callable[[bytes], tuple[str, float]],
    wcxb: bool,
    scores: dict[tuple[str, str, str], list],
    seconds: dict[tuple[str, str], list[float]],
    files: dict | None,
) -> None:
    """Both extractors on one page, in turn: their scores and times."""
    page_id, group, url, body, gold = page
    half = half_of(page_id)
    for name, (text, took) in (
        ("omni", omni_text(body, url)),
        ("trafilatura", reference(body)),
    ):
        seconds[name, half].append(took)
        if files is not None:
            files[name].write(
                json.dumps(
                    {"id": page_id, "half": half, "group": group, "seconds": took, "text": text},
                    ensure_ascii=False,
                )
                + "\n"
            )
            files[name].flush()
        score = word_f1(gold, text) if wcxb else shingle_precision_recall(gold, text)
        for key in ((name, half, "all"), (name, half, group)):
            scores[key].append(score)


def print_rows(
    scores: dict[tuple[str, str, str], list],
    seconds: dict[tuple[str, str], list[float]],
    wcxb: bool,
) -> None:
    groups = sorted({g for _, _, g in scores}, key=lambda g: (g != "all", g))
    print(f"{'half':9s} {'group':14s} {'pages':>5s} {'omni':>6s} {'trafil.':>7s}")
    for half in HALVES:
        for group in groups:
            row = [summary(scores[name, half, group], wcxb) for name in ("omni", "trafilatura")]
            if scores["omni", half, group]:
                print(
                    f"{half:9s} {group:14s} {len(scores['omni', half, group]):5d} "
                    f"{row[0]:6.3f} {row[1]:7.3f}"
                )
        o, t = (
            1000 * statistics.mean(seconds[name, half] or [0.0]) for name in ("omni", "trafilatura")
        )
        print(
            f"{half:9s} ms/page mean: omni {o:.1f}, trafilatura {t:.1f} ({o / t if t else 0:.2f}x)"
        )


def summary(values: list, wcxb: bool) -> float:
    if not values:
        return 0.0
    if wcxb:
        return statistics.mean(values)
    ps = [p for p, _ in values if p is not None] or [0.0]
    rs = [r for _, r in values if r is not None] or [0.0]
    p, r = statistics.mean(ps), statistics.mean(rs)
    return 2 * p * r / (p + r) if p + r else 0.0


if __name__ == "__main__":
    main()

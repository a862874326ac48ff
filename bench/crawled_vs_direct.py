"""Does the crawl store what the extractor finds? Real pages with hand-marked main text, served
as ONE local site and crawled by the real crawl (its main-content stage, with the template it
learns over the whole site), against the extractor called directly on the same bytes and URL.

    .venv/bin/python bench/crawled_vs_direct.py DATASET [--half held-out|tuning|both] [--limit N]

DATASET is a WCXB-style directory or an extraction-dev-style `pages.jsonl.gz`, read by
bench/extraction_quality.py (same split, same metrics). The pages are written to
`/pages/<id>.html` of a temporary directory with an index page linking them all, served on
127.0.0.1 and crawled with `run_crawl_subprocess` (what `omni crawl` does) on a fresh database.
For each page the bench scores:
- `stored`: `website_content.content` for the page's URL (the text that is chunked and
  embedded), and `scraped_pages.content`;
- `direct`: `page_content(html, url).text` (what `omni extract` prints), on the same URL;
- trafilatura `extract(bytes)`, the reference, on the same page.
Pages the crawl did not store (their `scraped_pages.status`, or not fetched at all) are counted
and scored as empty for `stored`, so a page lost on the way counts against the crawl. The pages
whose stored and direct texts differ are listed with both scores.
"""

from __future__ import annotations

import argparse
import html
import os
import statistics
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import trafilatura
from embed_common import bench_env
from extraction_quality import half_of, pages, shingle_precision_recall, summary, word_f1

from content.charset import decode_html
from content.main_content import page_content
from core.config import reload_settings
from crawlers.run import create_crawl_job, run_crawl_subprocess
from db.connection import connect
from interfaces.demo_site.server import SiteServer


def site_directory(root: Path, chosen: list[tuple[str, bytes]]) -> None:
    """`root/index.html` linking `root/pages/<id>.html`, one per chosen page."""
    (root / "pages").mkdir()
    links = []
    for page_id, body in chosen:
        (root / "pages" / f"{page_id}.html").write_bytes(body)
        links.append(f'<li><a href="/pages/{page_id}.html">{html.escape(page_id)}</a></li>')
    (root / "index.html").write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Pages</title></head>"
        f"<body><ul>{''.join(links)}</ul></body></html>",
        encoding="utf-8",
    )


def crawl(base_url: str) -> dict[str, dict]:
    """Crawl the site; the stored rows by URL: website_content's text, scraped_pages' text and
    status."""
    _, job_id = create_crawl_job(f"{base_url}/index.html")
    stats = run_crawl_subprocess(job_id, timeout=7200)
    if stats.get("status") != "completed":
        raise SystemExit(f"the crawl failed: {stats.get('error')}")
    print(
        "crawl: " + ", ".join(f"{k} {v}" for k, v in stats.items() if isinstance(v, int | float)),
        flush=True,
    )
    with connect(autocommit=True) as conn:
        rows = conn.execute(
            "SELECT p.url, p.status, p.content AS page_text, w.content AS stored, "
            "p.error_message, p.metadata->>'duplicate_of' AS duplicate_of, "
            "p.metadata->>'render_mode' AS render_mode "
            "FROM scraped_pages p LEFT JOIN website_content w "
            "ON w.domain_id = p.domain_id AND w.url = p.url"
        ).fetchall()
    return {row["url"]: row for row in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--half", choices=("held-out", "tuning", "both"), default="held-out")
    parser.add_argument("--limit", type=int, default=0, help="first N pages of the half only")
    parser.add_argument("--pages", default="", help="only these page ids (comma-separated)")
    args = parser.parse_args()
    wcxb = args.dataset.is_dir()
    chosen = [
        page for page in pages(args.dataset) if args.half == "both" or half_of(page[0]) == args.half
    ]
    if args.pages:
        wanted = set(args.pages.split(","))
        chosen = [page for page in chosen if page[0] in wanted]
    if args.limit:
        chosen = chosen[: args.limit]
    print(f"{len(chosen)} pages ({args.half}) of {args.dataset}", flush=True)
    with (
        bench_env(),
        tempfile.TemporaryDirectory(prefix="omni-crawled-vs-direct-") as tmp,
    ):
        site_directory(Path(tmp), [(page_id, body) for page_id, _, _, body, _ in chosen])
        os.environ.update(
            OMNI_ALLOW_PRIVATE_NETWORKS="1",
            OMNI_CRAWL_MAX_PAGES=str(len(chosen) + 10),
            # the pages' own relative links now point into this site (mostly 404s): at depth 2
            # they spent the page budget before the index's links were all fetched
            OMNI_CRAWL_MAX_DEPTH="1",
            OMNI_LOG_LEVEL="WARNING",
        )
        reload_settings()
        with SiteServer(0, Path(tmp)) as server:
            stored = crawl(server.url)
            url_of = {page_id: f"{server.url}/pages/{page_id}.html" for page_id, *_ in chosen}

    def score(gold: str, text: str) -> object:
        return word_f1(gold, text) if wcxb else shingle_precision_recall(gold, text)

    scores: dict[tuple[str, str], list] = defaultdict(list)
    outcomes: Counter[str] = Counter()
    differing = []
    lost = []
    for page_id, group, _, body, gold in chosen:
        url = url_of[page_id]
        row = stored.get(url)
        outcomes[row["status"] if row else "not fetched"] += 1
        if not row or row["status"] != "scraped":
            lost.append((page_id, group, row))
        texts = {
            "stored": (row["stored"] if row else None) or "",
            "scraped_pages": (row["page_text"] if row else None) or "",
            "direct": page_content(decode_html(body), url).text,
            "trafilatura": trafilatura.extract(body) or "",
        }
        for name, text in texts.items():
            for key in ((name, "all"), (name, group)):
                scores[key].append(score(gold, text))
        if texts["stored"] != texts["direct"]:
            differing.append(
                (page_id, group, scores["stored", "all"][-1], scores["direct", "all"][-1])
            )
    print("pages by crawl outcome:", dict(outcomes))
    for page_id, group, row in lost:
        if row is None:
            print(f"  {page_id} ({group}): not fetched")
            continue
        of = row["duplicate_of"] or ""
        of = of.rsplit("/", 1)[-1] if of.startswith(url_of[page_id].rsplit("/", 1)[0]) else of
        print(
            f"  {page_id} ({group}): {row['status']} ({row['render_mode']})"
            f" {row['error_message'] or ''}{' of ' + of if of else ''}"
        )
    names = ("stored", "scraped_pages", "direct", "trafilatura")
    groups = sorted({g for _, g in scores}, key=lambda g: (g != "all", g))
    print(f"{'group':14s} {'pages':>5s} " + " ".join(f"{n:>13s}" for n in names))
    for group in groups:
        print(
            f"{group:14s} {len(scores['stored', group]):5d} "
            + " ".join(f"{summary(scores[n, group], wcxb):13.3f}" for n in names)
        )
    print(f"{len(differing)} pages whose stored text differs from the direct call's:")
    for page_id, group, s, d in differing[:40]:
        fmt = (
            (lambda v: f"{v:.3f}") if wcxb else (lambda v: str(tuple(round(x or 0, 3) for x in v)))
        )
        print(f"  {page_id} ({group}): stored {fmt(s)}, direct {fmt(d)}")
    if wcxb and differing:
        gaps = [d - s for _, _, s, d in differing]
        print(f"  mean direct - stored over them: {statistics.mean(gaps):.4f}")


if __name__ == "__main__":
    main()

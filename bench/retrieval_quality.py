"""Retrieval quality on real sites: page-level R@1, R@5, R@10 and MRR@10 of vector search,
hybrid search and a BM25 baseline over the same stored pages, in the same run.

    .venv/bin/python bench/retrieval_quality.py [--sites apache postgresql] [--sweep]

For each site (bench/retrieval/README.md: which Debian documentation package, which pages):
1. the pages are served by a static HTTP server on 127.0.0.1 (the documentation as installed
   under /usr/share/doc; a subset is served from a directory of links to the chosen files);
2. a fresh database is crawled with the project's crawl (`create_crawl_job` +
   `run_crawl_subprocess`, what `omni crawl` does) and the workers run until idle
   (`omni worker --until-idle`) with the offline embedder (OMNI_EMBEDDING_BACKEND=local,
   all-MiniLM-L6-v2);
3. every question of bench/retrieval/<site>.jsonl is asked five ways: vector search
   (`search_embeddings` with the settings, as `omni search` does; `vector_page_support`: the
   same reranked by page support, PAGE_SUPPORT), hybrid (`hybrid_search`, `omni search
   --hybrid`, with the settings' fusion), hybrid with the other fusion of OTHER_FUSIONS
   (`hybrid_rrf`) and BM25 (rank-bm25's BM25Okapi over the stored text of the same content
   pages).
   Each mode's ranking is cut to its first 10 distinct pages (chunks of one page count once;
   fragments and queries stripped). A question is found at rank r when one of its answer pages
   is the r-th page.

--sweep also scores hybrid over a grid of its fusion settings (weights, candidate depth, RRF
k); bench/retrieval_fusion_choice.py picks from the sweeps of the tuning sites (never of a
held-out one). `--sites git --database retr_git` keeps a site's crawl for re-runs.

Prints one JSON line per site and mode, with the ingest figures and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urldefrag

from embed_common import REPO, bench_env  # first: puts the repository on sys.path
from rank_bm25 import BM25Okapi

from core import processes
from core.config import get_settings, reload_settings
from crawlers.run import create_crawl_job, run_crawl_subprocess
from db import keyword_stats
from db.connection import connect
from interfaces.demo_site.server import SiteServer
from workers.search import query_vectors, search

QUESTIONS = REPO / "bench" / "retrieval"
CHUNKS_ASKED = 50  # chunks per search, cut to the first TOP_PAGES distinct pages
TOP_PAGES = 10


@dataclass(frozen=True)
class Site:
    name: str
    root: Path
    start: str  # the crawl's first page
    pages: Callable[[Path], list[str]] | None = None  # the subset served (None: all of root)
    sitemap: bool = False  # serve /sitemap.xml listing the subset (pages no link reaches)


def _postgresql_admin(root: Path) -> list[str]:
    """admin.html and the pages its table of contents lists (Part III, Server Administration)."""
    html = (root / "admin.html").read_text(encoding="utf-8", errors="replace")
    toc = html[html.find('class="toc"') :]
    return ["admin.html", *dict.fromkeys(re.findall(r'href="([^"#]+\.html)', toc))]


# SQLite's machine-made pages: cross-reference indexes, the requirements list, syntax diagram
# dumps, the C API's one-page index and release histories (chosen before any question was written)
_SQLITE_GENERATED = re.compile(
    r"(doc_\w+_crossref|requirements|syntaxdiagrams|keyword_index|sitemap|doclist|changes"
    r"|chronology|capi3ref|oldnews|news)\.html"
)


def _sqlite_subset(root: Path) -> list[str]:
    """The top-level pages of SQLite's documentation, less the machine-made ones (200)."""
    return sorted(p.name for p in root.glob("*.html") if not _SQLITE_GENERATED.fullmatch(p.name))


def _top_level(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob("*.html"))


def _varnish_subset(root: Path) -> list[str]:
    """Every page of Varnish's documentation less Sphinx's generated index and search page."""
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*.html")
        if p.relative_to(root).as_posix() not in ("genindex.html", "search.html")
    )


# Exim's machine-made indexes; the chNN.html names are symlinks to the named chapters
_EXIM_INDEXES = {"ch-concept_index.html", "ch-option_index.html", "ch-variable_index.html"}


def _exim_subset(root: Path) -> list[str]:
    """The Exim specification's chapters and filter document, each once, less its indexes."""
    return sorted(
        p.name for p in root.glob("*.html") if not p.is_symlink() and p.name not in _EXIM_INDEXES
    )


def _python_subset(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root))
        for d in ("tutorial", "faq", "using")
        for p in (root / d).glob("*.html")
    )


SITES = {
    "apache": Site("apache", Path("/usr/share/doc/apache2-doc/manual/en"), "index.html"),
    "postgresql": Site(
        "postgresql", Path("/usr/share/doc/postgresql-doc-15/html"), "admin.html", _postgresql_admin
    ),
    "python": Site(
        "python", Path("/usr/share/doc/python3.11-doc/html"), "index.html", _python_subset
    ),
    "debian-handbook": Site(
        "debian-handbook", Path("/usr/share/doc/debian-handbook/html/en-US"), "index.html"
    ),
    "sqlite": Site(
        "sqlite", Path("/usr/share/doc/sqlite3"), "index.html", _sqlite_subset, sitemap=True
    ),
    "git": Site("git", Path("/usr/share/doc/git-doc"), "git.html", _top_level, sitemap=True),
    "varnish": Site(
        "varnish", Path("/usr/share/doc/varnish/html"), "index.html", _varnish_subset, sitemap=True
    ),
    "postfix": Site(
        "postfix", Path("/usr/share/doc/postfix/html"), "index.html", _top_level, sitemap=True
    ),
    "exim": Site(
        "exim",
        Path("/usr/share/doc/exim4-doc-html/spec_html"),
        "index.html",
        _exim_subset,
        sitemap=True,
    ),
}


@contextmanager
def served(site: Site) -> Iterator[str]:
    """The site on 127.0.0.1: its base URL. A subset is a directory of links to the chosen
    files; a subset without the start page gets a start page linking each folder's index."""
    with tempfile.TemporaryDirectory(prefix=f"omni-retrieval-{site.name}-") as tmp:
        directory = site.root
        if site.pages is not None:
            directory = Path(tmp)
            chosen = site.pages(site.root)
            for rel in chosen:
                (directory / rel).parent.mkdir(parents=True, exist_ok=True)
                (directory / rel).symlink_to(site.root / rel)
            if site.start not in chosen:
                links = "".join(
                    f'<li><a href="{rel}">{rel.split("/")[0]}</a></li>'
                    for rel in chosen
                    if rel.endswith("/index.html")
                )
                (directory / site.start).write_text(
                    f"<!doctype html><html lang='en'><head><title>{site.name}</title></head>"
                    f"<body><ul>{links}</ul></body></html>"
                )
        with SiteServer(0, directory) as server:
            if site.sitemap and site.pages is not None:
                (directory / "sitemap.xml").write_text(
                    sitemap_xml(server.url, chosen), encoding="utf-8"
                )
            yield server.url


def sitemap_xml(base_url: str, pages: list[str]) -> str:
    """A sitemap of the pages (a sitemap's locations are absolute URLs)."""
    urls = "".join(f"<url><loc>{base_url}/{rel}</loc></url>" for rel in pages)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    )


def questions(site: str) -> list[dict]:
    with open(QUESTIONS / f"{site}.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def page_key(url: str) -> str:
    return urldefrag(url)[0].split("?", 1)[0]


def distinct_pages(urls: list[str], n: int = TOP_PAGES) -> list[str]:
    return list(dict.fromkeys(page_key(u) for u in urls))[:n]


def scores(ranked: list[list[str]], answers: list[set[str]]) -> dict[str, float]:
    """R@1, R@5, R@10 and MRR@10 over the questions (ranked: each question's pages)."""
    ranks = [
        next((i for i, page in enumerate(pages, 1) if page in wanted), None)
        for pages, wanted in zip(ranked, answers, strict=True)
    ]
    n = max(1, len(ranks))
    out = {f"R@{k}": round(sum(1 for r in ranks if r and r <= k) / n, 3) for k in (1, 5, 10)}
    out["MRR@10"] = round(sum(1 / r for r in ranks if r and r <= 10) / n, 3)
    return out


_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ingest(base_url: str, env: dict[str, str]) -> dict:
    """Crawl the site and run the workers until idle: the figures of both."""
    started = time.monotonic()
    domain, job_id = create_crawl_job(f"{base_url}/{env['_start']}")
    stats = run_crawl_subprocess(job_id, timeout=3600)
    if stats.get("status") != "completed":
        raise SystemExit(f"the crawl failed: {stats.get('error')}")
    crawled = time.monotonic()
    workers = processes.spawn(
        [
            sys.executable,
            "-m",
            "interfaces.cli.main",
            "worker",
            "--until-idle",
            "--processes",
            "1",
            "--threads",
            "1",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        code = workers.wait()
    finally:
        processes.stop(workers)
    if code != 0:
        raise SystemExit(f"the workers exited with status {code}")
    done = time.monotonic()
    with connect(autocommit=True) as conn:
        # the planner's statistics now, not whenever autovacuum gets to the table; and the
        # domain's stop words recounted if the last embed job's own recount failed (0125)
        conn.execute("ANALYZE page_embeddings")
        keyword_stats.sync(conn)
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM scraped_pages) AS pages, "
            "(SELECT count(*) FROM scraped_pages WHERE metadata->>'page_kind' = 'navigation') "
            "AS navigation, "
            "(SELECT count(*) FROM page_embeddings) AS chunks"
        ).fetchone()
        failed = conn.execute(
            "SELECT count(*) AS n FROM content_refresh_jobs WHERE status = 'failed'"
        ).fetchone()["n"]
    return {
        "domain": domain,
        "crawl_s": round(crawled - started, 1),
        "workers_s": round(done - crawled, 1),
        **counts,
        "failed_jobs": failed,
        "chunks_per_s": round(counts["chunks"] / max(0.1, done - crawled), 1),
    }


def bm25_ranking(domain: str, asked: list[str]) -> list[list[str]]:
    """BM25Okapi over the stored text (website_content) of the domain's content pages."""
    with connect(autocommit=True) as conn:
        rows = conn.execute(
            "SELECT w.url, coalesce(w.title, '') || ' ' || coalesce(w.content, '') AS text "
            "FROM website_content w JOIN domains d ON d.id = w.domain_id "
            "JOIN scraped_pages p ON p.domain_id = w.domain_id AND p.url = w.url "
            "WHERE d.domain = %s AND coalesce(p.metadata->>'page_kind', 'content') = 'content' "
            "ORDER BY w.url",
            (domain,),
        ).fetchall()
    urls = [r["url"] for r in rows]
    index = BM25Okapi([words(r["text"]) for r in rows])
    out = []
    for q in asked:
        s = index.get_scores(words(q))
        out.append(
            distinct_pages(
                [urls[i] for i in sorted(range(len(urls)), key=lambda i: -s[i])[:CHUNKS_ASKED]]
            )
        )
    return out


def search_ranking(
    domain: str,
    asked: list[str],
    hybrid: bool,
    vectors: list[list[float]],
    **tuning: float | str,
) -> list[list[str]]:
    settings = get_settings()
    with connect(autocommit=True) as conn:
        return [
            distinct_pages(
                [
                    r["url"]
                    for r in search(
                        conn, q, domain, CHUNKS_ASKED, hybrid, settings=settings, vector=v, **tuning
                    )
                ]
            )
            for q, v in zip(asked, vectors, strict=True)
        ]


# The page support weight scored beside vector search's settings (OMNI_SEARCH_SECOND_CHUNK_WEIGHT)
PAGE_SUPPORT = 0.1

# Scored beside the settings' fusion (convex 12 : 1): the best RRF of the last sweep on the
# tuning sites (docs/workers.md#retrieval-quality).
OTHER_FUSIONS: dict[str, dict[str, float | str]] = {
    "rrf": dict(fusion="rrf", vector_weight=4.0, keyword_weight=1.0, candidates=50, rrf_k=5),
}

SWEEP = [
    *(
        dict(fusion="rrf", vector_weight=vw, keyword_weight=1.0, candidates=c, rrf_k=k)
        for vw in (1.0, 2.0, 3.0, 4.0, 6.0, 9.0, 15.0)
        for c in (50, 100)
        for k in (1, 2, 5, 10, 20, 60)
    ),
    *(
        dict(fusion="convex", vector_weight=vw, keyword_weight=1.0, candidates=c)
        for vw in (1.0, 2.0, 3.0, 4.0, 5.7, 9.0, 12.0, 19.0, 29.0)
        for c in (50, 100)
    ),
]


def ingested(database: str | None) -> dict | None:
    """A kept database's site (its one domain), when it was crawled and embedded before."""
    if database is None:
        return None
    with connect(autocommit=True) as conn:
        row = conn.execute(
            "SELECT d.domain, count(e.id) AS chunks FROM domains d "
            "JOIN page_embeddings e ON e.domain_id = d.id GROUP BY 1"
        ).fetchone()
    return (
        None
        if row is None
        else {"domain": row["domain"], "chunks": row["chunks"], "reused": database}
    )


def run_site(site: Site, sweep: bool, database: str | None = None) -> list[dict]:
    load = [round(x, 1) for x in os.getloadavg()]
    with bench_env(database=database) as env, served(site) as base:
        env = {**env, "_start": site.start}
        os.environ.update(
            {
                "OMNI_ALLOW_PRIVATE_NETWORKS": "1",
                "OMNI_CRAWL_MAX_PAGES": "2000",
                "OMNI_CRAWL_MAX_DEPTH": "100",
                "OMNI_EMBEDDING_BACKEND": "local",
            }
        )
        reload_settings()
        figures = ingested(database) or ingest(base, env)
        asked = questions(site.name)
        texts = [q["question"] for q in asked]
        answers = [{f"http://{figures['domain']}/{a}" for a in q["answers"]} for q in asked]
        with connect(autocommit=True) as conn:
            vectors = query_vectors(conn, texts, figures["domain"], settings=get_settings())
        modes = {
            "vector": search_ranking(figures["domain"], texts, False, vectors),
            # page support, the option measured and not adopted (docs/workers.md)
            "vector_page_support": search_ranking(
                figures["domain"], texts, False, vectors, second_chunk_weight=PAGE_SUPPORT
            ),
            "hybrid": search_ranking(figures["domain"], texts, True, vectors),
            **{
                f"hybrid_{name}": search_ranking(figures["domain"], texts, True, vectors, **fusion)
                for name, fusion in OTHER_FUSIONS.items()
            },
            "bm25": bm25_ranking(figures["domain"], texts),
        }
        lines = []
        for mode, ranked in modes.items():
            line = {
                "site": site.name,
                "mode": mode,
                "questions": len(asked),
                **scores(ranked, answers),
            }
            lines.append(line)
            print(json.dumps(line), flush=True)
        misses = {
            mode: [
                q["id"]
                for q, pages, want in zip(asked, ranked, answers, strict=True)
                if not set(pages[:5]) & want
            ]
            for mode, ranked in modes.items()
        }
        print(json.dumps({"site": site.name, "missed_at_5": misses}), flush=True)
        if sweep:
            for tuning in SWEEP:
                ranked = search_ranking(figures["domain"], texts, True, vectors, **tuning)
                print(
                    json.dumps({"site": site.name, "sweep": tuning, **scores(ranked, answers)}),
                    flush=True,
                )
    figures.update(
        site=site.name, load_before=load, load_after=[round(x, 1) for x in os.getloadavg()]
    )
    print(json.dumps(figures), flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--sites", nargs="+", choices=sorted(SITES), default=["apache", "postgresql"]
    )
    parser.add_argument(
        "--sweep", action="store_true", help="Also score hybrid over a grid of its fusion settings."
    )
    parser.add_argument(
        "--database",
        help="Keep the site's data in this database of the bench's "
        "Postgres (created if missing; a re-run searches it without crawling "
        "again). One site per database.",
    )
    args = parser.parse_args()
    if args.database and len(args.sites) > 1:
        raise SystemExit("--database holds one site: name one with --sites")
    for name in args.sites:
        if not SITES[name].root.is_dir():
            raise SystemExit(
                f"{SITES[name].root} is missing: apt-get install the site's "
                "documentation package (bench/retrieval/README.md)"
            )
    for name in args.sites:
        run_site(SITES[name], args.sweep, args.database)


if __name__ == "__main__":
    main()

"""Crawl benchmark at site sizes of 10k, 50k and 100k pages: throughput, memory, database rows,
and the unchanged re-crawl.

    .venv/bin/python bench/crawl_scale.py [--sizes 10000 50000 100000] [--concurrency 16]

The generated site (served by a separate process, `--serve N`; pages are made on request, so the
server's memory does not grow with N) is shaped like a big shop:
- leaf pages `/p/<id>` (85% of N), each ~2.5 KB of text whose facts differ only in numbers;
- paginated category listings `/c/<k>/page/<n>` of 50 leaves each, linking the next page;
- print views `/p/<id>/print` (`rel=canonical` duplicates) of every tenth leaf;
- an endless calendar `/events/<date>` (a trap), linked from the home page;
- a sitemap index whose children list the listings and half the leaves.
Every page has an ETag and Last-Modified; If-None-Match gets 304.

For each size, on a fresh database: the first crawl, `VACUUM ANALYZE` + `CHECKPOINT`, then the
re-crawl of the unchanged site, each in its own process (`python -m crawlers.run`). While each
runs, the bench reads the crawl's PROGRESS lines (pages so far, once a second) and the crawl
process's RSS from /proc, and reports:
- pages/s (pages over the crawl job's `duration_s`), peak RSS (the child's max RSS);
- RSS growth per 10k pages: the least-squares slope of RSS over pages crawled, over the second
  half of the crawl (after start-up);
- database rows/s: rows the crawl wrote (scraped_pages, website_content, content_hashes,
  page_content_references) over its duration;
- the re-crawl's time, pages/s, peak RSS and share of conditional requests.
The machine's load average is printed with each size (the machine is shared).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from datetime import date, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PER_LISTING = 50
LISTINGS_PER_CATEGORY = 40
SITEMAP_CHUNK = 10_000
LAST_MODIFIED = formatdate(1_700_000_000, usegmt=True)
WORDS = ["tent", "stove", "lantern", "rope", "stake", "tarp", "pole", "mat", "bag", "pump"]


class ScaleSite:
    """The shape of an N-page site; every body is made from its path (pure)."""

    def __init__(self, pages: int) -> None:
        self.leaves = int(pages * 0.85)
        self.listings = -(-self.leaves // PER_LISTING)

    def leaf_page(self, i: int) -> str:
        word = WORDS[i % len(WORDS)]
        facts = "".join(
            f"<p>Item {10000 + i} is a {word} with serial SER{i:06d}, weighing "
            f"{100 + (i * 7 + k) % 900} grams and priced at {20 + (i * 3 + k) % 400} "
            f"euros. Variant {k} ships in {1 + (i + k) % 9} days from warehouse "
            f"{(i * 11 + k) % 17}.</p>"
            for k in range(10)
        )
        extra = f"<a href='/p/{i}/print'>Print</a>" if i % 10 == 0 else ""
        return f"<h1>Item {10000 + i}</h1>{facts}{extra}"

    def listing_page(self, n: int) -> str:
        first = n * PER_LISTING
        items = "".join(
            f"<li><a href='/p/{i}'>Item {10000 + i}</a></li>"
            for i in range(first, min(first + PER_LISTING, self.leaves))
        )
        category, page = divmod(n, LISTINGS_PER_CATEGORY)
        nxt = (
            f"<a href='/c/{category}/page/{page + 1}'>Next</a>"
            if n + 1 < self.listings and page + 1 < LISTINGS_PER_CATEGORY
            else ""
        )
        return f"<h1>Category {category}, page {page}</h1><ul>{items}</ul>{nxt}"

    def categories(self) -> int:
        return -(-self.listings // LISTINGS_PER_CATEGORY)

    def body(self, path: str, base: str) -> tuple[int, bytes, str]:
        if path == "/robots.txt":
            return (
                200,
                f"User-agent: *\nAllow: /\nSitemap: {base}/sitemap.xml\n".encode(),
                "text/plain",
            )
        if path == "/sitemap.xml":
            children = -(-self._listed() // SITEMAP_CHUNK)
            locs = "".join(
                f"<sitemap><loc>{base}/sitemap-{k}.xml</loc></sitemap>" for k in range(children)
            )
            return (
                200,
                (
                    f"<?xml version='1.0'?><sitemapindex xmlns='http://www.sitemaps.org/"
                    f"schemas/sitemap/0.9'>{locs}</sitemapindex>"
                ).encode(),
                "application/xml",
            )
        if path.startswith("/sitemap-"):
            k = int(path.removeprefix("/sitemap-").removesuffix(".xml"))
            urls = [
                self._listed_url(j)
                for j in range(k * SITEMAP_CHUNK, min((k + 1) * SITEMAP_CHUNK, self._listed()))
            ]
            locs = "".join(f"<url><loc>{base}{u}</loc></url>" for u in urls)
            return (
                200,
                (
                    f"<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/"
                    f"sitemap/0.9'>{locs}</urlset>"
                ).encode(),
                "application/xml",
            )
        content = self._content(path)
        if content is None:
            return 404, b"not found", "text/plain"
        title, main, canonical = content
        head = f"<link rel='canonical' href='{canonical}'>" if canonical else ""
        menu = "".join(
            f"<a href='/c/{c}/page/0'>Category {c}</a>" for c in range(min(self.categories(), 20))
        )
        return (
            200,
            (
                f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}"
                f"</title>{head}</head><body><header><a href='/'>Home</a><nav>{menu}</nav>"
                f"</header><main>{main}</main><footer>Outdoor shop</footer></body></html>"
            ).encode(),
            "text/html; charset=utf-8",
        )

    def _listed(self) -> int:
        return self.listings + self.leaves // 2

    def _listed_url(self, j: int) -> str:
        return (
            f"/c/{j // LISTINGS_PER_CATEGORY}/page/{j % LISTINGS_PER_CATEGORY}"
            if j < self.listings
            else f"/p/{(j - self.listings) * 2}"
        )

    def _content(self, path: str) -> tuple[str, str, str | None] | None:
        parts = path.strip("/").split("/")
        try:
            if path == "/":
                cats = "".join(
                    f"<li><a href='/c/{c}/page/0'>Category {c}</a></li>"
                    for c in range(self.categories())
                )
                return (
                    "Home",
                    f"<h1>Outdoor shop</h1><ul>{cats}</ul><a href='/events/2024/01/01'>Events</a>",
                    None,
                )
            if parts[0] == "p" and len(parts) == 2 and int(parts[1]) < self.leaves:
                return f"Item {10000 + int(parts[1])}", self.leaf_page(int(parts[1])), None
            if (
                parts[0] == "p"
                and len(parts) == 3
                and parts[2] == "print"
                and int(parts[1]) % 10 == 0
            ):
                i = int(parts[1])
                return f"Item {10000 + i} (print)", self.leaf_page(i), f"/p/{i}"
            if parts[0] == "c" and len(parts) == 4 and parts[2] == "page":
                n = int(parts[1]) * LISTINGS_PER_CATEGORY + int(parts[3])
                if int(parts[3]) < LISTINGS_PER_CATEGORY and n < self.listings:
                    return f"Category {parts[1]} page {parts[3]}", self.listing_page(n), None
            if parts[0] == "events" and len(parts) == 4:
                day = date(int(parts[1]), int(parts[2]), int(parts[3]))
                nxt = day + timedelta(days=1)
                return (
                    f"Events {day}",
                    (
                        f"<h1>Events on {day}</h1><p>No events on {day}.</p>"
                        f"<a href='/events/{nxt:%Y/%m/%d}'>Next day</a>"
                    ),
                    None,
                )
        except ValueError:
            return None
        return None


def serve(pages: int) -> None:
    from crawl_site import Server, send  # bench/ is on sys.path: this script's folder

    site = ScaleSite(pages)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            status, body, ctype = site.body(
                self.path.split("?", 1)[0], f"http://{self.headers.get('Host')}"
            )
            etag = '"' + hashlib.md5(body).hexdigest() + '"' if status == 200 else None
            send(self, status, body, ctype, etag, LAST_MODIFIED)

    server = Server(("127.0.0.1", 0), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def crawl(domain: str, env: dict[str, str]) -> dict:
    """One crawl in its own process: its RESULT stats plus (pages, RSS MB) samples."""
    from core import processes

    child = processes.spawn(  # dies with this process, however it ends
        [sys.executable, "-m", "crawlers.run", "--domain", domain],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    samples: list[tuple[int, float]] = []
    result = None
    stderr: list[str] = []
    drain = threading.Thread(target=lambda: stderr.extend(child.stderr), daemon=True)
    drain.start()
    for line in child.stdout:
        if line.startswith("PROGRESS "):
            rss = rss_mb(child.pid)
            if rss is not None:
                samples.append((json.loads(line[9:])["pages_seen"], rss))
        elif line.startswith("RESULT "):
            result = json.loads(line[7:])
    child.wait()
    if not result or not result.get("ok"):
        raise SystemExit(f"crawl failed: {result} {''.join(stderr)[-3000:]}")
    return {**result.get("stats", result), "samples": samples}


def growth_per_10k(samples: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of RSS over pages, second half of the crawl, per 10k pages."""
    half = [s for s in samples if s[0] >= (samples[-1][0] / 2 if samples else 0)]
    if len(half) < 3 or half[-1][0] == half[0][0]:
        return None
    xs, ys = [p for p, _ in half], [r for _, r in half]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=False)) / sum(
        (x - mx) ** 2 for x in xs
    )
    return slope * 10_000


ROWS_SQL = (
    "SELECT (SELECT count(*) FROM scraped_pages) + (SELECT count(*) FROM website_content) "
    "+ (SELECT count(*) FROM content_hashes) + (SELECT count(*) FROM page_content_references) AS n"
)


def one_size(pages: int, args: argparse.Namespace, redis_url: str, admin_url: str) -> dict:
    from core import processes
    from db.connection import connect
    from db.migrate import migrate
    from tests.support.environment import fresh_database

    server = processes.spawn(  # the site; dies with this process, however it ends
        [sys.executable, str(Path(__file__).resolve()), "--serve", str(pages)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(server.stdout.readline().split()[1])
        with fresh_database(admin_url, "omni_scale") as database_url:
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "OMNI_ALLOW_PRIVATE_NETWORKS": "1",
                "OMNI_CRAWL_MAX_PAGES": str(pages * 2),
                "OMNI_CRAWL_MAX_DEPTH": "1000",
                "OMNI_CRAWL_CONCURRENCY": str(args.concurrency),
                "OMNI_LOG_LEVEL": "WARNING",
            }
            with connect(autocommit=True, dsn=database_url) as conn:
                migrate(conn)
            load_before = os.getloadavg()[0]
            first = crawl(f"127.0.0.1:{port}", env)
            growth = growth_per_10k(first["samples"])
            print(
                f"first crawl of {pages}: {first['pages_seen']} pages in {first['duration_s']}s, "
                f"peak RSS {first['peak_rss_mb']} MB, growth "
                f"{'-' if growth is None else round(growth, 1)} MB/10k pages",
                flush=True,
            )
            with connect(autocommit=True, dsn=database_url) as conn:
                rows = conn.execute(ROWS_SQL).fetchone()["n"]
                conn.execute("VACUUM ANALYZE")
                conn.execute("CHECKPOINT")
            again = crawl(f"127.0.0.1:{port}", env)
            load_after = os.getloadavg()[0]
    finally:
        server.terminate()
        server.wait()
    return {
        "pages": pages,
        "first": first,
        "again": again,
        "rows": rows,
        "load": (load_before, load_after),
    }


def report(r: dict) -> dict:
    first, again = r["first"], r["again"]
    rate = first["pages_seen"] / first["duration_s"]
    growth = growth_per_10k(first["samples"])
    asked = again["pages_seen"]
    conditional = again["conditional_requests"] / max(1, asked)
    line = {
        "size": r["pages"],
        "pages_seen": first["pages_seen"],
        "duration_s": first["duration_s"],
        "pages_per_s": round(rate, 1),
        "peak_rss_mb": first["peak_rss_mb"],
        "rss_growth_mb_per_10k": None if growth is None else round(growth, 1),
        "db_rows": r["rows"],
        "db_rows_per_s": round(r["rows"] / first["duration_s"], 1),
        "trap_skipped": first["trap_skipped"],
        "url_memory_spilled": [first.get("url_memory_spilled"), again.get("url_memory_spilled")],
        "duplicate": first["duplicate"],
        "recrawl_s": again["duration_s"],
        "recrawl_pages_per_s": round(asked / again["duration_s"], 1),
        "recrawl_peak_rss_mb": again["peak_rss_mb"],
        "recrawl_rss_growth_mb_per_10k": (
            None
            if growth_per_10k(again["samples"]) is None
            else round(growth_per_10k(again["samples"]), 1)
        ),
        "recrawl_conditional": round(conditional, 4),
        "recrawl_304": again["not_modified"],
        "recrawl_new_changed": again["new"] + again["changed"],
        "load_avg": [round(x, 1) for x in r["load"]],
    }
    print(json.dumps(line), flush=True)
    return line


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        from core import processes

        processes.die_with_parent()
        serve(args.serve)
        return

    from tests.support.environment import private_redis, suite_postgres

    lines = []
    # held as a user of the suite's server: a test run or benchmark ending meanwhile leaves it up
    with (
        private_redis(Path(tempfile.mkdtemp(prefix="omni-scale-redis-"))) as redis_url,
        suite_postgres(REPO / ".omni-test") as admin_url,
    ):
        for pages in args.sizes:
            lines.append(report(one_size(pages, args, redis_url, admin_url)))
    if len(lines) > 1:
        small, big = lines[0], lines[-1]
        print(
            f"throughput at {big['size']} pages: {big['pages_per_s'] / small['pages_per_s']:.2f}x "
            f"of {small['size']} (target >= 0.8x); peak RSS {small['peak_rss_mb']} -> "
            f"{big['peak_rss_mb']} MB for {big['size'] / small['size']:.0f}x the pages"
        )


if __name__ == "__main__":
    main()

"""Crawl benchmark: the full pipeline vs a bare Scrapy spider on a local 2,000-page site, then a
re-crawl of the unchanged site.

    .venv/bin/python bench/crawl_throughput.py [--pages 2000] [--concurrency 16] [--rounds 3]

Each round uses a fresh database on the embedded test Postgres (.omni-test), dropped at the end,
and a private Redis. Each crawl runs in its own process (fresh reactor). pages/s is pages over
the crawl's own duration (`duration_s`: from loading the domain's state to recording the
result; interpreter start-up is not in it, for either crawl). Peak memory is the crawl
process's max RSS. Between the first crawl and the re-crawl the database is vacuumed and
checkpointed, as would have happened between two crawls of a site (--no-vacuum to skip). The summary
gives the median and range over the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def bare_spider_main(port: int, concurrency: int) -> None:
    """A bare spider: follows every same-host link, no pipelines, same politeness settings."""
    import scrapy
    from scrapy.crawler import CrawlerProcess

    result: dict[str, float] = {}

    class Bare(scrapy.Spider):
        name = "bare"
        start_urls = [f"http://127.0.0.1:{port}/"]
        allowed_domains = ["127.0.0.1"]

        def parse(self, response):
            result.setdefault("start", time.monotonic())
            result["pages"] = result.get("pages", 0) + 1
            result["end"] = time.monotonic()
            yield from response.follow_all(css="a::attr(href)", callback=self.parse)

    t0 = time.monotonic()
    process = CrawlerProcess(
        {
            "LOG_LEVEL": "WARNING",
            "ROBOTSTXT_OBEY": False,
            "TELNETCONSOLE_ENABLED": False,
            "AUTOTHROTTLE_ENABLED": True,
            "AUTOTHROTTLE_START_DELAY": 0.0,
            "AUTOTHROTTLE_TARGET_CONCURRENCY": float(concurrency),
            "CONCURRENT_REQUESTS": concurrency * 2,
            "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
            "DOWNLOAD_DELAY": 0,
            "COOKIES_ENABLED": False,
            "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        }
    )
    process.crawl(Bare)
    process.start()
    duration = time.monotonic() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        "RESULT "
        + json.dumps(
            {"pages": result.get("pages", 0), "duration_s": duration, "peak_rss_mb": round(peak, 1)}
        ),
        flush=True,
    )


def run_child(args: list[str], env: dict[str, str]) -> dict:
    """The child's RESULT, plus `process_s`: its wall time including interpreter start-up."""
    from core import processes

    started = time.monotonic()
    child = processes.spawn(  # dies with this process, however it ends
        [sys.executable, *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = child.communicate()
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise SystemExit(f"child failed ({child.returncode}): {stderr[-3000:]}")
    return {**json.loads(lines[-1][len("RESULT ") :]), "process_s": time.monotonic() - started}


def one_round(args: argparse.Namespace, port: int, redis_url: str, admin_url: str) -> dict:
    """Bare spider, first crawl and re-crawl on a fresh database."""
    from db.connection import connect
    from db.migrate import migrate
    from tests.support.environment import fresh_database

    with fresh_database(admin_url, "omni_bench") as database_url:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "OMNI_ALLOW_PRIVATE_NETWORKS": "1",
            "OMNI_CRAWL_MAX_PAGES": str(args.pages + 10),
            "OMNI_CRAWL_CONCURRENCY": str(args.concurrency),
            "OMNI_CRAWL_PATTERN_LIMIT": str(args.pages * 2),
            "OMNI_LOG_LEVEL": "WARNING",
        }
        crawl = ["-m", "crawlers.run", "--domain", f"127.0.0.1:{port}"]
        with connect(autocommit=True, dsn=database_url) as conn:
            migrate(conn)
        bare = run_child(
            [
                "bench/crawl_throughput.py",
                "--bare-port",
                str(port),
                "--concurrency",
                str(args.concurrency),
            ],
            env,
        )
        first = run_child(crawl, env)
        with connect(autocommit=True, dsn=database_url) as conn:
            if not args.no_vacuum:
                # What autovacuum and the checkpointer do between two crawls of a site, hours
                # or days apart; without it the re-crawl would also pay for cleaning up after
                # the first crawl's inserts.
                conn.execute("VACUUM ANALYZE")
                conn.execute("CHECKPOINT")
            profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
            before = conn.execute("SELECT NOW() AS t").fetchone()["t"]
            again = run_child([*profile, *crawl], env)
            again["content_rewritten"] = conn.execute(
                "SELECT count(*) AS n FROM website_content WHERE updated_at >= %s", (before,)
            ).fetchone()["n"]
    return {"bare": bare, "first": first, "again": again}


def report(n: int, bare: dict, first: dict, again: dict) -> tuple[float, float]:
    bare_rate = bare["pages"] / bare["duration_s"]
    first_rate = first["pages_seen"] / first["duration_s"]
    again_rate = again["pages_seen"] / again["duration_s"]
    ratio, speedup = first_rate / bare_rate, first["duration_s"] / again["duration_s"]
    print(f"round {n}")
    print(
        f"  bare spider:    {bare['pages']:5d} pages in {bare['duration_s']:6.2f}s = "
        f"{bare_rate:7.1f} pages/s, peak RSS {bare['peak_rss_mb']:.0f} MB"
    )
    print(
        f"  full pipeline:  {first['pages_seen']:5d} pages in {first['duration_s']:6.2f}s = "
        f"{first_rate:7.1f} pages/s, peak RSS {first['peak_rss_mb']:.0f} MB, CPU "
        f"{first['cpu_s']}s, new {first['new']}, jobs {first['jobs_enqueued']}"
    )
    print(
        f"  re-crawl:       {again['pages_seen']:5d} pages in {again['duration_s']:6.2f}s = "
        f"{again_rate:7.1f} pages/s, peak RSS {again['peak_rss_mb']:.0f} MB, CPU "
        f"{again['cpu_s']}s, 304s {again['not_modified']}, unchanged {again['unchanged']}, "
        f"new+changed {again['new'] + again['changed']}, website_content rows rewritten "
        f"{again['content_rewritten']}, jobs {again['jobs_enqueued']}"
    )
    print(
        f"  full/bare {ratio:.2f}x, re-crawl speed-up {speedup:.2f}x "
        f"(by whole process incl. interpreter start: {first['process_s']:.2f}s vs "
        f"{again['process_s']:.2f}s = {first['process_s'] / again['process_s']:.2f}x)"
    )
    return ratio, speedup


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="fresh database each round")
    parser.add_argument(
        "--no-vacuum", action="store_true", help="re-crawl straight after the first crawl's writes"
    )
    parser.add_argument("--profile", help="cProfile the last re-crawl into this file")
    parser.add_argument("--bare-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_port:
        from core import processes

        processes.die_with_parent()
        bare_spider_main(args.bare_port, args.concurrency)
        return

    from tests.support.environment import private_redis, suite_postgres

    server = subprocess.Popen(
        [sys.executable, str(REPO / "bench/crawl_site.py"), "--pages", str(args.pages)],
        stdout=subprocess.PIPE,
        text=True,
    )
    port = int(server.stdout.readline().split()[1])
    print(
        f"site: {args.pages} pages on 127.0.0.1, concurrency {args.concurrency}, "
        f"{args.rounds} rounds"
    )
    ratios, speedups = [], []
    # held as a user of the suite's server: a test run or benchmark ending meanwhile leaves it up
    try:
        with (
            private_redis(Path(tempfile.mkdtemp(prefix="omni-bench-redis-"))) as redis_url,
            suite_postgres(REPO / ".omni-test") as admin_url,
        ):
            for n in range(1, args.rounds + 1):
                ratio, speedup = report(n, **one_round(args, port, redis_url, admin_url))
                ratios.append(ratio)
                speedups.append(speedup)
    finally:
        server.terminate()
        server.wait()
    print(
        f"full/bare:          median {statistics.median(ratios):.2f}x, "
        f"range {min(ratios):.2f}-{max(ratios):.2f}x   (target >= 0.5x)"
    )
    print(
        f"re-crawl speed-up:  median {statistics.median(speedups):.2f}x, "
        f"range {min(speedups):.2f}-{max(speedups):.2f}x   (target >= 3x)"
    )


if __name__ == "__main__":
    main()

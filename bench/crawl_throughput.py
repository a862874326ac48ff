"""Crawl benchmark: the full pipeline vs a bare Scrapy spider on a local 2,000-page site, then a
re-crawl of the unchanged site.

    .venv/bin/python bench/crawl_throughput.py [--pages 2000] [--concurrency 16]

Uses a fresh database on the embedded test Postgres (.omni-test) and a private Redis, both
removed at the end. Each crawl runs in its own process (fresh reactor); pages/s is pages over the
crawl's own duration, peak memory is the crawl process's max RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
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
    process = CrawlerProcess({
        "LOG_LEVEL": "WARNING", "ROBOTSTXT_OBEY": False, "TELNETCONSOLE_ENABLED": False,
        "AUTOTHROTTLE_ENABLED": True, "AUTOTHROTTLE_START_DELAY": 0.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(concurrency),
        "CONCURRENT_REQUESTS": concurrency * 2, "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "DOWNLOAD_DELAY": 0, "COOKIES_ENABLED": False,
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    })
    process.crawl(Bare)
    process.start()
    duration = time.monotonic() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps({"pages": result.get("pages", 0), "duration_s": duration,
                                  "peak_rss_mb": round(peak, 1)}), flush=True)


def run_child(args: list[str], env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True)
    lines = [l for l in out.stdout.splitlines() if l.startswith("RESULT ")]
    if not lines:
        raise SystemExit(f"child failed ({out.returncode}): {out.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--bare-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_port:
        bare_spider_main(args.bare_port, args.concurrency)
        return

    import psycopg

    from omni import services
    from omni.config import Settings

    server = subprocess.Popen([sys.executable, str(REPO / "bench/crawl_site.py"), "--pages",
                               str(args.pages)], stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline().split()[1])
    base = Settings(OMNI_DATA_DIR=REPO / ".omni-test", DATABASE_URL=None, REDIS_URL=None)
    admin_url = services.database_url(base).rsplit("/", 1)[0] + "/postgres"
    db_name = f"omni_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{db_name}"')
    redis_dir = tempfile.mkdtemp(prefix="omni-bench-redis-")
    redis = services.EmbeddedRedis(Path(redis_dir))
    env = {**os.environ, "DATABASE_URL": admin_url.rsplit("/", 1)[0] + f"/{db_name}",
           "REDIS_URL": redis.start(), "OMNI_ALLOW_PRIVATE_NETWORKS": "1",
           "OMNI_CRAWL_MAX_PAGES": str(args.pages + 10), "OMNI_CRAWL_CONCURRENCY": str(args.concurrency),
           "OMNI_CRAWL_PATTERN_LIMIT": str(args.pages * 2), "OMNI_LOG_LEVEL": "WARNING"}
    try:
        subprocess.run([sys.executable, "-c", "from db.connection import connect; from db.migrate import migrate;"
                        "c = connect(autocommit=True); migrate(c)"], cwd=REPO, env=env, check=True,
                       capture_output=True)
        domain = f"127.0.0.1:{port}"
        bare = run_child(["bench/crawl_throughput.py", "--bare-port", str(port),
                          "--concurrency", str(args.concurrency)], env)
        first = run_child(["-m", "crawlers.run", "--domain", domain], env)
        again = run_child(["-m", "cProfile", "-o", os.environ["OMNI_BENCH_PROFILE"], "-m", "crawlers.run", "--domain", domain] if os.environ.get("OMNI_BENCH_PROFILE") else ["-m", "crawlers.run", "--domain", domain], env)
    finally:
        redis.stop()
        server.terminate()
        server.wait()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')

    bare_rate = bare["pages"] / bare["duration_s"]
    first_rate = first["pages_seen"] / first["duration_s"]
    again_rate = again["pages_seen"] / again["duration_s"]
    print(f"site: {args.pages} pages on 127.0.0.1, concurrency {args.concurrency}")
    print(f"bare spider:      {bare['pages']:5d} pages in {bare['duration_s']:6.2f}s = {bare_rate:7.1f} pages/s, "
          f"peak RSS {bare['peak_rss_mb']:.0f} MB")
    print(f"full pipeline:    {first['pages_seen']:5d} pages in {first['duration_s']:6.2f}s = {first_rate:7.1f} pages/s, "
          f"peak RSS {first.get('peak_rss_mb', 0):.0f} MB, new {first['new']}, jobs {first.get('jobs_enqueued')}")
    print(f"re-crawl:         {again['pages_seen']:5d} pages in {again['duration_s']:6.2f}s = {again_rate:7.1f} pages/s, "
          f"peak RSS {again.get('peak_rss_mb', 0):.0f} MB, unchanged {again['unchanged']}, "
          f"304s {again['not_modified']}, new+changed {again['new'] + again['changed']}, "
          f"jobs {again.get('jobs_enqueued')}")
    print(f"ratio full/bare:  {first_rate / bare_rate:.2f}x   (target >= 0.5x)")
    print(f"crawler CPU: full {first.get('cpu_s')}s, re-crawl {again.get('cpu_s')}s")
    print(f"re-crawl speed-up: {first['duration_s'] / again['duration_s']:.2f}x   (target >= 3x)")


if __name__ == "__main__":
    main()

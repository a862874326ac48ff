"""Re-crawl benchmark on a realistic shop: ~30% of its URLs are duplicates (print views and
sort orders with rel=canonical, tracking parameters) and ~5% dead links (removed models, 404).

    .venv/bin/python bench/crawl_recrawl.py [--products 1000] [--rounds 3]

Each round: a fresh database on the embedded test Postgres (.omni-test), a first crawl and a
re-crawl of the unchanged site, each in its own process (`python -m crawlers.run`). The site
(tests/support/shop_site.py) runs in this process and counts every request and byte it sends.
Printed per round and as medians: requests sent (re-crawl / first), the conditional-or-skipped
share of the re-crawl's page requests (a skipped URL is one the crawler knew and did not ask:
a dead link before its back-off, a duplicate whose canonical page answered 304, a page stored
by an interrupted attempt), bytes downloaded
(re-crawl / first) and the crawl-time speed-up (`duration_s`, interpreter start-up excluded).
Targets: >= 95% conditional or skipped, bytes <= 10%, speed-up >= 3x.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawl_throughput import run_child


def crawl(site, env: dict[str, str]) -> tuple[dict, list]:
    site.requests.clear()
    stats = run_child(["-m", "crawlers.run", "--domain", site.domain], env)
    return stats, list(site.requests)


def shares(site_pages: dict, requests: list) -> dict:
    pages = [r for r in requests if not r.path.startswith(("/robots.txt", "/sitemap"))]
    return {
        "requests": len(requests),
        "page_requests": len(pages),
        "conditional": sum(1 for r in pages if r.conditional),
        "not_modified": sum(1 for r in pages if r.status == 304),
        "full_downloads": sum(1 for r in pages if r.status == 200),
        "bytes": sum(r.bytes for r in requests),
    }


def one_round(args: argparse.Namespace, redis_url: str, admin_url: str) -> dict:
    from db.connection import connect
    from db.migrate import migrate
    from tests.support.environment import fresh_database
    from tests.support.shop_site import serve, shop, stop

    site = serve(shop(args.products, sitemap=True))
    try:
        with fresh_database(admin_url, "omni_bench") as database_url:
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "OMNI_ALLOW_PRIVATE_NETWORKS": "1",
                "OMNI_CRAWL_MAX_PAGES": str(args.products * 3),
                "OMNI_CRAWL_MAX_DEPTH": "100",
                "OMNI_CRAWL_CONCURRENCY": str(args.concurrency),
                "OMNI_LOG_LEVEL": "WARNING",
            }
            with connect(autocommit=True, dsn=database_url) as conn:
                migrate(conn)
            first, first_requests = crawl(site, env)
            with connect(autocommit=True, dsn=database_url) as conn:
                conn.execute("VACUUM ANALYZE")
                conn.execute("CHECKPOINT")
                kinds = {
                    r["status"]: r["n"]
                    for r in conn.execute(
                        "SELECT status, count(*) AS n FROM scraped_pages GROUP BY 1"
                    )
                }
            again, again_requests = crawl(site, env)
    finally:
        stop(site)
    return {
        "first": first,
        "again": again,
        "kinds": kinds,
        "first_http": shares(site.pages, first_requests),
        "again_http": shares(site.pages, again_requests),
    }


def report(n: int, r: dict) -> dict:
    first, again, f, a = r["first"], r["again"], r["first_http"], r["again_http"]
    skipped = sum(again.get(k, 0) for k in ("recheck_skipped", "resumed", "duplicate_skipped"))
    cond_share = (a["conditional"] + skipped) / max(1, a["page_requests"] + skipped)
    figures = {
        "requests": a["requests"] / f["requests"],
        "conditional_or_skipped": cond_share,
        "bytes": a["bytes"] / f["bytes"],
        "speedup": first["duration_s"] / again["duration_s"],
    }
    total = sum(r["kinds"].values())
    print(
        f"round {n}: URLs remembered {total} = "
        + ", ".join(f"{k} {v} ({v / total:.0%})" for k, v in sorted(r["kinds"].items()))
    )
    print(
        f"  first crawl: {f['requests']} requests ({f['page_requests']} pages), "
        f"{f['bytes'] / 1e6:.2f} MB, {first['duration_s']:.2f}s, new {first['new']}, "
        f"duplicates {first['duplicate']}, failed {first['failed']}"
    )
    print(
        f"  re-crawl:    {a['requests']} requests ({a['page_requests']} pages: "
        f"{a['conditional']} conditional, {a['not_modified']} 304, {a['full_downloads']} full; "
        f"{skipped} skipped), {a['bytes'] / 1e6:.3f} MB, {again['duration_s']:.2f}s, "
        f"new+changed {again['new'] + again['changed']}"
    )
    print(
        f"  requests {figures['requests']:.1%} of the first crawl's, conditional or skipped "
        f"{cond_share:.1%}, bytes {figures['bytes']:.1%}, speed-up {figures['speedup']:.2f}x"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from tests.support.environment import private_redis, suite_postgres

    print(f"shop: {args.products} products, concurrency {args.concurrency}, {args.rounds} rounds")
    rounds = []
    # held as a user of the suite's server: a test run or benchmark ending meanwhile leaves it up
    with (
        private_redis(Path(tempfile.mkdtemp(prefix="omni-bench-redis-"))) as redis_url,
        suite_postgres(REPO / ".omni-test") as admin_url,
    ):
        for n in range(1, args.rounds + 1):
            rounds.append(report(n, one_round(args, redis_url, admin_url)))

    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    def span(key: str, fmt: str) -> str:
        low, high = min(r[key] for r in rounds), max(r[key] for r in rounds)
        return f"range {format(low, fmt)}-{format(high, fmt)}"

    print(
        f"requests / first crawl's:        median {median('requests'):.1%} "
        f"({span('requests', '.1%')})"
    )
    print(
        f"conditional or skipped:          median {median('conditional_or_skipped'):.1%} "
        f"({span('conditional_or_skipped', '.1%')})   (target >= 95%)"
    )
    print(
        f"bytes / first crawl's:           median {median('bytes'):.1%} ({span('bytes', '.1%')})"
        f"   (target <= 10%)"
    )
    print(
        f"re-crawl speed-up:               median {median('speedup'):.2f}x "
        f"({span('speedup', '.2f')}x)   (target >= 3x)"
    )


if __name__ == "__main__":
    main()

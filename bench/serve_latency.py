"""End-to-end latency of `omni serve` for a text query: HTTP request -> key check -> rate limit ->
query embedding -> RLS search -> facts -> JSON, as a chat application sees it.

    .venv/bin/omni serve &                          # the model loads once
    .venv/bin/omni serve key create --customer you@shop.co.uk     # a key whose rate_limit is high
    .venv/bin/python bench/serve_latency.py --url http://127.0.0.1:8787 --key omni_... \
        --domain shop.co.uk -n 200 [--hybrid]

    .venv/bin/python bench/serve_latency.py --world 100000 [--tenants 40] [-n 200] [--hybrid]

Prints p50/p95/max in milliseconds over n sequential requests (after 5 warm-up ones), with the
domain's chunk count, so the figure is stated with its size.

`--world N` builds the search benchmark's world (bench/tenant_search.py: N chunks in Zipf-sized
tenants, written by COPY, then the scheduler's index maintenance) in a fresh database on the
embedded services, gives the largest, a middle and the smallest tenant a customer and a key,
starts `omni serve` with the offline model (so every request embeds its text query on this
machine's CPU) and measures each of the three."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]

QUERIES = [
    "how do I return an item",
    "when will my order arrive",
    "what payment methods do you accept",
    "how do I contact customer service",
    "is there a warranty",
    "can I change my delivery address",
]


def measure(url: str, key: str, domain: str, n: int, k: int, hybrid: bool) -> list[float]:
    """Milliseconds of n sequential requests, after 5 warm-up ones, sorted."""
    headers = {"Authorization": f"Bearer {key}"}
    timings = []
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        for i in range(n + 5):
            body = {"domain": domain, "query": QUERIES[i % len(QUERIES)], "k": k, "hybrid": hybrid}
            started = time.perf_counter()
            response = client.post("/v1/search", json=body)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code == 429:
                raise SystemExit(
                    "rate limited: use a key whose customer_configs.rate_limit exceeds -n"
                )
            response.raise_for_status()
            if i >= 5:
                timings.append(elapsed)
    return sorted(timings)


def summary(timings: list[float]) -> str:
    p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
    return f"p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, max {timings[-1]:.1f} ms"


@contextmanager
def served(env: dict[str, str]) -> Iterator[str]:
    """`omni serve` on a free port of 127.0.0.1 with `env`; its URL while it runs."""
    with tempfile.TemporaryDirectory(prefix="omni-serve-bench-") as data_dir:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "omni"), "serve", "--port", "0"],
            cwd=REPO,
            env={**os.environ, **env, "OMNI_DATA_DIR": data_dir},
        )
        try:
            state = Path(data_dir) / "serve.json"
            deadline = time.monotonic() + 300
            while not state.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("omni serve did not start")
                time.sleep(0.2)
            yield json.loads(state.read_text())["url"]
        finally:
            proc.terminate()
            proc.wait(timeout=60)


def world_run(chunks: int, tenants: int, n: int, k: int, hybrid: bool) -> None:
    from embed_common import bench_env
    from tenant_search import World, load, maintain

    from db import api_keys
    from db import tenants as tenant_db
    from db.connection import connect

    with bench_env() as env:
        env.pop("OPENAI_API_KEY", None)
        os.environ.pop("OPENAI_API_KEY", None)
        world = World(tenants, chunks, "all-MiniLM-L6-v2")
        keys = {}
        with connect(autocommit=True) as conn:
            loaded = load(conn, world)
            built = maintain(conn)
            picks = sorted({0, len(world.tenants) // 3, len(world.tenants) - 1})
            for i in picks:
                tenant = world.tenants[i]
                customer = tenant_db.add_customer(conn, f"owner@{tenant.domain}")
                domain = conn.execute(
                    "UPDATE domains SET user_id = %s WHERE domain = %s RETURNING id",
                    (customer["auth_user_id"], tenant.domain),
                ).fetchone()
                conn.execute(
                    "INSERT INTO customer_configs (customer_id, domain_id, rate_limit) "
                    "VALUES (%s, %s, %s)",
                    (customer["id"], domain["id"], 1_000_000),
                )
                keys[tenant] = api_keys.create(conn, f"owner@{tenant.domain}")[1]
        print(
            f"world: {chunks:,} chunks in {tenants} tenants, loaded in {loaded['load']:.0f} s, "
            f"indexes in {loaded['build'] + built['own']:.0f} s; load average "
            f"{os.getloadavg()[0]:.1f}",
            flush=True,
        )
        with served(env) as url:
            for tenant, key in keys.items():
                timings = measure(url, key, tenant.domain, n, k, hybrid)
                print(
                    f"{n} requests ({'hybrid' if hybrid else 'vector'}, k={k}) on "
                    f"{tenant.domain} ({tenant.size:,} chunks): {summary(timings)}",
                    flush=True,
                )
        print(f"load average after: {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url")
    parser.add_argument("--key")
    parser.add_argument("--domain")
    parser.add_argument("--world", type=int, help="build a world of this many chunks and serve it")
    parser.add_argument("--tenants", type=int, default=40)
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--hybrid", action="store_true")
    args = parser.parse_args()
    if args.world:
        sys.path.insert(0, str(REPO))
        world_run(args.world, args.tenants, args.n, args.k, args.hybrid)
        return
    if not (args.url and args.key and args.domain):
        parser.error("give --url, --key and --domain, or --world")
    timings = measure(args.url, args.key, args.domain, args.n, args.k, args.hybrid)
    print(
        f"{args.n} requests ({'hybrid' if args.hybrid else 'vector'}, k={args.k}) on "
        f"{args.domain}: {summary(timings)}"
    )


if __name__ == "__main__":
    main()

"""End-to-end latency of `omni serve` for a text query: HTTP request -> key check -> rate limit ->
query embedding -> RLS search -> facts -> JSON, as a chat application sees it.

    .venv/bin/omni serve &                          # the model loads once
    .venv/bin/omni serve key create --customer you@shop.co.uk     # a key whose rate_limit is high
    .venv/bin/python bench/serve_latency.py --url http://127.0.0.1:8787 --key omni_... \
        --domain shop.co.uk -n 200 [--hybrid]

Prints p50/p95/max in milliseconds over n sequential requests (after 5 warm-up ones), with the
domain's chunk count, so the figure is stated with its size."""

from __future__ import annotations

import argparse
import statistics
import time

import httpx

QUERIES = [
    "how do I return an item",
    "when will my order arrive",
    "what payment methods do you accept",
    "how do I contact customer service",
    "is there a warranty",
    "can I change my delivery address",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--domain", required=True)
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--hybrid", action="store_true")
    args = parser.parse_args()
    headers = {"Authorization": f"Bearer {args.key}"}
    timings = []
    with httpx.Client(base_url=args.url, headers=headers, timeout=60) as client:
        for i in range(args.n + 5):
            body = {
                "domain": args.domain,
                "query": QUERIES[i % len(QUERIES)],
                "k": args.k,
                "hybrid": args.hybrid,
            }
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
    timings.sort()
    p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
    print(
        f"{args.n} requests ({'hybrid' if args.hybrid else 'vector'}, k={args.k}) on "
        f"{args.domain}: "
        f"p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, max {timings[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()

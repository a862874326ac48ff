"""Search latency and recall at 100,000 chunks through `search_embeddings` (HNSW index).

    .venv/bin/python bench/search_latency.py [--chunks 100000] [--queries 200]

Clustered 1536-d unit vectors (2,000 topics + noise, the shape real chunk embeddings have)
in one domain's pages; queries are noisy copies of stored chunks. Latency is measured from the
client (round trip included); recall@10 compares with exact search (index scans disabled).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from embed_common import bench_env

MODEL = "text-embedding-3-small"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--chunks-per-page", type=int, default=50)
    args = parser.parse_args()
    rng = np.random.default_rng(3)

    with bench_env(redis=False):
        from db import tenants
        from db.connection import connect
        from workers.embed_job import copy_rows

        with connect(autocommit=True) as conn:
            domain = tenants.add_domain(conn, "bench.example")
            other = tenants.add_domain(conn, "other.example")
            pages = args.chunks // args.chunks_per_page
            with (
                conn.cursor() as cur,
                cur.copy("COPY scraped_pages (domain_id, url, title, status) FROM STDIN") as copy,
            ):
                for i in range(pages):
                    copy.write_row(
                        (domain["id"], f"https://bench.example/p/{i}", f"Page {i}", "ok")
                    )
                copy.write_row((other["id"], "https://other.example/", "Other", "ok"))
            page_ids = [
                r["id"]
                for r in conn.execute(
                    "SELECT id FROM scraped_pages WHERE domain_id = %s ORDER BY url",
                    (domain["id"],),
                )
            ]
            other_page = conn.execute(
                "SELECT id FROM scraped_pages WHERE domain_id = %s", (other["id"],)
            ).fetchone()["id"]

            centroids = rng.standard_normal((2000, 1536)).astype(np.float32)
            started = time.perf_counter()
            conn.execute("DROP INDEX IF EXISTS idx_page_embeddings_vector")
            stored = []
            batch = 10_000
            for start in range(0, args.chunks, batch):
                n = min(batch, args.chunks - start)
                vectors = centroids[rng.integers(0, len(centroids), n)] + 0.6 * rng.standard_normal(
                    (n, 1536)
                ).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                stored.append(vectors[: args.queries])
                with conn.transaction():
                    copy_rows(
                        conn,
                        (
                            (
                                page_ids[(start + i) // args.chunks_per_page],
                                f"chunk {start + i}",
                                vectors[i],
                                {"model": MODEL, "chunk_index": (start + i) % args.chunks_per_page},
                            )
                            for i in range(n)
                        ),
                    )
            # another domain's rows and another model's rows: never returned
            copy_rows(
                conn,
                (
                    (other_page, f"other {i}", v, {"model": MODEL})
                    for i, v in enumerate(np.concatenate(stored)[:50])
                ),
            )
            load = time.perf_counter() - started
            started = time.perf_counter()
            conn.execute("SET maintenance_work_mem = '2GB'")
            conn.execute("SET max_parallel_maintenance_workers = 2")
            conn.execute(
                "CREATE INDEX idx_page_embeddings_vector ON page_embeddings "
                "USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
            )
            conn.execute("ANALYZE page_embeddings")
            conn.execute("ANALYZE scraped_pages")
            build = time.perf_counter() - started

            pool = np.concatenate(stored)
            targets = pool[rng.choice(len(pool), size=args.queries, replace=False)]
            # noise of norm ~0.3 around a stored unit vector (a paraphrase of a stored chunk)
            queries = targets + (0.3 / np.sqrt(1536)) * rng.standard_normal(targets.shape).astype(
                np.float32
            )
            queries /= np.linalg.norm(queries, axis=1, keepdims=True)

            sql = "SELECT id FROM search_embeddings(%s, %s, 10, %s)"
            for q in queries[:10]:  # warm the cache
                conn.execute(sql, (q, "bench.example", MODEL)).fetchall()
            latencies, approx = [], []
            for q in queries:
                t0 = time.perf_counter()
                rows = conn.execute(sql, (q, "bench.example", MODEL)).fetchall()
                latencies.append((time.perf_counter() - t0) * 1000)
                approx.append({r["id"] for r in rows})
            recalls = []
            with conn.transaction():
                conn.execute("SET LOCAL enable_indexscan = off")
                conn.execute("SET LOCAL enable_bitmapscan = off")
                for q, found in zip(queries, approx, strict=False):
                    exact = {
                        r["id"]
                        for r in conn.execute(
                            "SELECT e.id FROM page_embeddings e JOIN scraped_pages p ON p.id = "
                            "e.page_id "
                            "WHERE p.domain_id = %s AND e.metadata->>'model' = %s "
                            "ORDER BY e.embedding <=> %s LIMIT 10",
                            (domain["id"], MODEL, q),
                        )
                    }
                    recalls.append(len(found & exact) / 10)
            plan = [
                r["QUERY PLAN"].split("(cost")[0].split("Order By")[0]
                for r in conn.execute(
                    "EXPLAIN SELECT e.id FROM page_embeddings e JOIN scraped_pages p ON p.id = "
                    "e.page_id "
                    "WHERE p.domain_id = %s ORDER BY e.embedding <=> %s LIMIT 10",
                    (domain["id"], queries[0]),
                )
            ]

    latencies.sort()

    def p(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))]

    print(f"chunks                {args.chunks:,} in {pages:,} pages (+50 of another domain)")
    print(f"load (binary COPY)    {load:.1f} s; HNSW build {build:.1f} s")
    print(
        f"latency               p50 {p(0.5):.2f} ms  p95 {p(0.95):.2f} ms  max "
        f"{latencies[-1]:.2f} ms "
        f"over {len(latencies)} queries  (target p50 <= 20 ms)"
    )
    print(
        f"recall@10             {statistics.mean(recalls):.3f} (min {min(recalls):.1f})  "
        f"(target >= 0.95)"
    )
    print("plan (domain filter):\n  " + "\n  ".join(line for line in plan if line.strip()))


if __name__ == "__main__":
    main()

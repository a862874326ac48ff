"""search_embeddings timing and plan choice on a few thousand vectors.

Creates a throw-away database on the embedded Postgres in OMNI_DATA_DIR (default .omni-test, the
tests' server),
migrates it, loads N random 1536-d vectors (90% in big.test, 10% in small.test) and prints the
time per call and whether the HNSW index was scanned. Usage:
    .venv/bin/python bench/search_embeddings.py [N=3000]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from db.migrate import migrate
from tests.support.environment import fresh_database, suite_postgres

DIM = 1536
SCANS = "SELECT pg_stat_get_xact_numscans('idx_page_embeddings_vector'::regclass)"


def load(conn: psycopg.Connection, n: int, rng: np.random.Generator) -> None:
    per_page = 30
    for domain, share in (("big.test", 0.9), ("small.test", 0.1)):
        did = conn.execute(
            "INSERT INTO domains (domain) VALUES (%s) RETURNING id", (domain,)
        ).fetchone()[0]
        for p in range(max(1, int(n * share) // per_page)):
            pid = conn.execute(
                "INSERT INTO scraped_pages (domain_id, url) VALUES (%s, %s) RETURNING id",
                (did, f"https://{domain}/{p}"),
            ).fetchone()[0]
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO page_embeddings (page_id, chunk_text, embedding, metadata) "
                    "VALUES (%s, 'c', %s, '{\"model\": \"m1\"}')",
                    [(pid, v) for v in rng.standard_normal((per_page, DIM)).astype(np.float32)],
                )
    conn.execute("ANALYZE")


def timed(
    conn: psycopg.Connection, query: str, args: tuple, setup: str | None = None, runs: int = 20
) -> tuple[float, bool]:
    times, used = [], False
    for _ in range(runs):
        with conn.transaction(force_rollback=True):
            if setup:
                conn.execute(setup)
            before = conn.execute(SCANS).fetchone()[0]
            start = time.perf_counter()
            conn.execute(query, args).fetchall()
            times.append(time.perf_counter() - start)
            used = conn.execute(SCANS).fetchone()[0] > before
    return statistics.median(times) * 1000, used


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    data_dir = Path(os.environ.get("OMNI_DATA_DIR", REPO / ".omni-test"))
    with (
        suite_postgres(data_dir) as admin_url,
        fresh_database(admin_url, "omni_bench") as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        migrate(conn)
        register_vector(conn)
        started = time.perf_counter()
        load(conn, n, np.random.default_rng(1))
        print(f"loaded {n} vectors in {time.perf_counter() - started:.1f}s")
        q = np.random.default_rng(2).standard_normal(DIM).astype(np.float32)
        call = "SELECT * FROM search_embeddings(%s, %s, 10, %s)"
        cases = [
            ("big domain, model filter", call, (q, "big.test", "m1"), None),
            ("big domain, no model filter", call, (q, "big.test", None), None),
            (
                "big domain, HNSW disabled (exact)",
                call,
                (q, "big.test", "m1"),
                "SET LOCAL enable_indexscan = off",
            ),
            ("small domain, model filter", call, (q, "small.test", "m1"), None),
        ]
        for label, query, args, setup in cases:
            ms, used = timed(conn, query, args, setup)
            print(f"{label:38s} {ms:7.2f} ms  hnsw={'yes' if used else 'no'}")


if __name__ == "__main__":
    main()

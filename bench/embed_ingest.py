"""Embedding ingest through the worker vs a raw binary COPY of the same vectors.

    .venv/bin/python bench/embed_ingest.py [--chunks 10000] [--threads 2]

1. Synthetic pages (~500-token chunks) are embedded by a real `dramatiq workers.actors:setup_worker`
   process (openai backend, a local OpenAI-compatible server answering at once, in its own
   process) from `embed` jobs of 200 pages; chunks/s from sending the jobs to the last done.
2. The same rows (texts, vectors, metadata) are binary-COPYed into a copy of page_embeddings
   with the same indexes (HNSW included): chunks/s. Ratio = worker / raw.
3. Requests used vs the minimum the limits allow (ceil over inputs and tokens), per 10,000.
4. The same jobs again on the unchanged site: tokens and requests (target 0).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import time

from embed_common import REPO, bench_env, embedding_server, insert_pages, page_markdown, wait_jobs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pages-per-job", type=int, default=200)
    args = parser.parse_args()

    with bench_env(), embedding_server("hash") as base_url:
        os.environ.update(
            {
                "OPENAI_BASE_URL": base_url,
                "OPENAI_API_KEY": "bench",
                "OMNI_EMBEDDING_BACKEND": "openai",
                "OMNI_EMBEDDING_MODEL": "text-embedding-3-small",
            }
        )
        from core.config import reload_settings

        reload_settings()
        from db import jobs, tenants
        from db.connection import connect
        from workers.broker import setup_broker
        from workers.dispatch import send_job
        from workers.request_plan import lower_bound

        setup_broker()
        rng = random.Random(1)
        pages = max(1, args.chunks // 20)
        with connect(autocommit=True) as conn:
            domain = tenants.add_domain(conn, "bench.example")
            page_ids = insert_pages(
                conn, domain["id"], [page_markdown(rng, paragraphs=22) for _ in range(pages)]
            )

            def run_jobs() -> tuple[float, list[dict]]:
                ids = [
                    jobs.create(
                        conn,
                        domain["id"],
                        "embed",
                        {"page_ids": [str(p) for p in page_ids[i : i + args.pages_per_job]]},
                    )
                    for i in range(0, len(page_ids), args.pages_per_job)
                ]
                started = time.perf_counter()
                for job_id in ids:
                    send_job(job_id, "embed")
                rows = wait_jobs(conn, ids)
                elapsed = time.perf_counter() - started
                failed = [r for r in rows if r["status"] != "completed"]
                if failed:
                    raise SystemExit(f"jobs failed: {[r['error_message'] for r in failed]}")
                return elapsed, rows

            worker = subprocess.Popen(
                [
                    str(REPO / ".venv/bin/dramatiq"),
                    "workers.actors:setup_worker",
                    "-p",
                    "1",
                    "-t",
                    str(args.threads),
                    "-Q",
                    "embed",
                ],
                cwd=REPO,
                env=os.environ.copy(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                time.sleep(3)  # let the worker boot (not part of the measurement)
                elapsed, rows = run_jobs()
                chunk_rows = conn.execute(
                    "SELECT page_id, chunk_text, embedding, metadata FROM page_embeddings"
                ).fetchall()
                n = len(chunk_rows)
                requests = sum(r["metadata"].get("requests", 0) for r in rows)
                tokens = [r["metadata"]["token_count"] for r in chunk_rows]
                minimum = lower_bound(tokens)
                again, rows2 = run_jobs()
                tokens_again = sum(r["metadata"].get("tokens", 0) for r in rows2)
                requests_again = sum(r["metadata"].get("requests", 0) for r in rows2)
            finally:
                worker.terminate()
                worker.wait(30)

            conn.execute("CREATE TABLE bench_raw_copy (LIKE page_embeddings INCLUDING ALL)")
            conn.execute(
                "ALTER TABLE bench_raw_copy ADD FOREIGN KEY (page_id) "
                "REFERENCES scraped_pages(id) ON DELETE CASCADE"
            )
            started = time.perf_counter()
            with (
                conn.transaction(),
                conn.cursor() as cur,
                cur.copy(
                    "COPY bench_raw_copy (page_id, chunk_text, embedding, metadata) "
                    "FROM STDIN WITH (FORMAT BINARY)"
                ) as copy,
            ):
                copy.set_types(["uuid", "text", "vector", "jsonb"])
                for r in chunk_rows:
                    copy.write_row((r["page_id"], r["chunk_text"], r["embedding"], r["metadata"]))
            raw = time.perf_counter() - started

    worker_rate, raw_rate = n / elapsed, n / raw
    print(f"chunks                     {n} ({pages} pages, {sum(tokens):,} tokens)")
    print(
        f"worker ingest              {elapsed:.2f} s  {worker_rate:,.0f} chunks/s "
        f"({args.threads} threads, 1 process)"
    )
    print(f"raw binary COPY            {raw:.2f} s  {raw_rate:,.0f} chunks/s")
    print(f"ratio worker / raw         {worker_rate / raw_rate:.2f}x   (target >= 0.5x)")
    per10k = 10_000 / n
    print(
        f"requests                   {requests} (minimum {minimum}); per 10,000 chunks "
        f"{requests * per10k:.1f} vs {minimum * per10k:.1f}: {requests / max(minimum, 1):.3f}x "
        f"(target <= 1.05x)"
    )
    print(
        f"re-embed unchanged site    {tokens_again} tokens, {requests_again} requests, "
        f"{again:.2f} s  (target 0 tokens)"
    )


if __name__ == "__main__":
    main()

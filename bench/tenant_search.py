"""Search as the product uses it: many tenants of Zipf sizes in one `page_embeddings` table.

    .venv/bin/python bench/tenant_search.py [--tenants 40] [--chunks 100000] [--queries 300]
                                            [--model text-embedding-3-small|all-MiniLM-L6-v2]
                                            [--query-seed 999]

Every tenant (a domain) gets a Zipf share of the chunks (s = 1.1: at 40 tenants / 100,000 chunks
the largest has ~27k, the smallest ~470) drawn around its own topics. Vectors live in a
48-dimensional latent space (topic centre + spread) projected to the model's dimension plus a
little isotropic noise, the low intrinsic dimension real embeddings have; the local model's 384-d
vectors are zero-padded to 1536 as the worker stores them. Chunk texts mix a topic's own words
with common words, so the keyword side of hybrid search has work to do.

The bulk-load case: the chunks arrive by COPY (as a restore or another application writes them),
so no domain has its own index yet (search_embedding_ids' paths of migration 0077). It is
measured first, then the maintenance step
(`db.vector_indexes.sync`, what the scheduler runs every pass) builds the indexes, largest domain
first, and the steady state is measured.

Queries are fresh points near a topic of a tenant (never copies of stored chunks), asked through
`search_embeddings(vector, domain, 10, model)` and `hybrid_search(text, vector, domain, 10,
model)`; latency is the client's round trip. recall@10 compares with the exact top 10 of that
tenant computed in numpy from the same generator. Results are grouped by tenant size class:
large (the top 4), medium (5th to 15th), small (the rest).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from embed_common import bench_env

LATENT = 48
CHUNKS_PER_PAGE = 20
TOPIC_WORDS = 8
WORDS = 20_000
TRUE_DIMS = {"text-embedding-3-small": 1536, "all-MiniLM-L6-v2": 384}
STORED_DIMS = 1536
SEED = 11
QUERY_SEED = 999  # the queries the search settings were tuned on (docs/workers.md)


@dataclass(frozen=True)
class Tenant:
    index: int
    domain: str
    size: int
    topics: int

    @property
    def size_class(self) -> str:
        return "large" if self.index < 4 else "medium" if self.index < 15 else "small"


def zipf_sizes(tenants: int, chunks: int, s: float = 1.1) -> list[int]:
    """Chunk counts per tenant, largest first, summing to `chunks` (Zipf exponent s)."""
    weights = 1.0 / np.arange(1, tenants + 1) ** s
    sizes = np.floor(weights / weights.sum() * chunks).astype(int)
    sizes[0] += chunks - sizes.sum()
    return [int(n) for n in sizes]


class World:
    """Deterministic generator: a tenant's vectors and texts can be regenerated at will."""

    def __init__(self, tenants: int, chunks: int, model: str) -> None:
        self.model, self.dims = model, TRUE_DIMS[model]
        rng = np.random.default_rng(SEED)
        self.projection = (rng.standard_normal((LATENT, self.dims)) / np.sqrt(LATENT)).astype(
            np.float32
        )
        self.tenants = [
            Tenant(i, f"t{i:03d}.example", n, max(4, n // 150))
            for i, n in enumerate(zipf_sizes(tenants, chunks))
        ]
        # Common words are Zipf distributed; each topic owns TOPIC_WORDS rarer words.
        self.words = [f"w{i}" for i in range(WORDS)]
        ranks = 1.0 / np.arange(1, 501)
        self.common_p = ranks / ranks.sum()

    def _rng(self, tenant: Tenant, stream: int) -> np.random.Generator:
        return np.random.default_rng([SEED, tenant.index, stream])

    def centres(self, tenant: Tenant) -> np.ndarray:
        return self._rng(tenant, 0).standard_normal((tenant.topics, LATENT)).astype(np.float32)

    def topic_words(self, tenant: Tenant, topic: int) -> list[str]:
        start = 500 + (tenant.index * 7919 + topic * TOPIC_WORDS * 31) % (WORDS - 500 - TOPIC_WORDS)
        return self.words[start : start + TOPIC_WORDS]

    def embed(self, latent: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        vectors = latent @ self.projection
        vectors += 0.15 * rng.standard_normal(vectors.shape).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        if self.dims < STORED_DIMS:  # zero-padded, as workers/embedding stores them
            vectors = np.pad(vectors, ((0, 0), (0, STORED_DIMS - self.dims)))
        return vectors.astype(np.float32)

    def chunks(self, tenant: Tenant) -> tuple[np.ndarray, np.ndarray]:
        """(topic of each chunk, vectors) of the tenant."""
        rng = self._rng(tenant, 1)
        topics = rng.integers(0, tenant.topics, tenant.size)
        latent = self.centres(tenant)[topics] + 0.5 * rng.standard_normal((tenant.size, LATENT))
        return topics, self.embed(latent.astype(np.float32), rng)

    def text(self, tenant: Tenant, topic: int, rng: np.random.Generator, n: int = 60) -> str:
        own = rng.choice(self.topic_words(tenant, topic), n // 2)
        common = rng.choice(500, n - n // 2, p=self.common_p)
        return " ".join([*own, *(self.words[i] for i in common)])

    def queries(self, count: int, seed: int = QUERY_SEED) -> list[tuple[Tenant, np.ndarray, str]]:
        """`count` queries spread evenly over the size classes, round robin over their tenants,
        drawn with `seed` (the tuning seed by default; report figures with another one)."""
        rng = np.random.default_rng([SEED, seed])
        classes = defaultdict(list)
        for t in self.tenants:
            classes[t.size_class].append(t)
        out = []
        for members in classes.values():
            for k in range(count // len(classes)):
                tenant = members[k % len(members)]
                topic = int(rng.integers(tenant.topics))
                latent = self.centres(tenant)[topic] + 0.5 * rng.standard_normal(LATENT)
                vector = self.embed(latent[None, :].astype(np.float32), rng)[0]
                words = [
                    *rng.choice(self.topic_words(tenant, topic), 2),
                    *(self.words[i] for i in rng.choice(20, 2)),
                ]
                out.append((tenant, vector, " ".join(words)))
        return out


def load(conn, world: World) -> dict[str, float]:
    """Domains, pages and chunks by binary COPY, indexes of page_embeddings built afterwards."""
    from db import tenants as tenant_db
    from workers.embed_job import copy_rows

    indexes = [
        r["indexdef"]
        for r in conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'page_embeddings' "
            "AND indexdef ~ 'USING (hnsw|gin)'"
        )
    ]
    for definition in indexes:
        conn.execute("DROP INDEX " + definition.split(" INDEX ", 1)[1].split(" ON ", 1)[0])
    started = time.perf_counter()
    for tenant in world.tenants:
        domain_id = tenant_db.add_domain(conn, tenant.domain)["id"]
        pages = -(-tenant.size // CHUNKS_PER_PAGE)
        with (
            conn.cursor() as cur,
            cur.copy("COPY scraped_pages (domain_id, url, title, status) FROM STDIN") as copy,
        ):
            for p in range(pages):
                copy.write_row((domain_id, f"https://{tenant.domain}/p/{p}", f"Page {p}", "ok"))
        page_ids = [
            r["id"]
            for r in conn.execute(
                'SELECT id FROM scraped_pages WHERE domain_id = %s ORDER BY url COLLATE "C"',
                (domain_id,),
            )
        ]
        order = sorted(range(pages), key=lambda p: f"https://{tenant.domain}/p/{p}")
        page_of = {p: page_ids[i] for i, p in enumerate(order)}
        topics, vectors = world.chunks(tenant)
        rng = np.random.default_rng([SEED, tenant.index, 2])
        with conn.transaction():
            copy_rows(
                conn,
                (
                    (
                        page_of[i // CHUNKS_PER_PAGE],
                        world.text(tenant, int(topics[i]), rng),
                        vectors[i],
                        {"model": world.model, "n": i},
                    )
                    for i in range(tenant.size)
                ),
            )
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    conn.execute("SET statement_timeout = 0")  # index builds take minutes on a loaded machine
    conn.execute("SET maintenance_work_mem = '2GB'")
    conn.execute("SET max_parallel_maintenance_workers = 2")
    for definition in indexes:
        conn.execute(definition)
    conn.execute("VACUUM ANALYZE page_embeddings")
    conn.execute("VACUUM ANALYZE scraped_pages")
    return {"load": loaded, "build": time.perf_counter() - started}


def maintain(conn) -> dict[str, float]:
    """The scheduler's maintenance step: the large domains' own indexes, then every domain's
    keyword stop words (0125), from the data."""
    from db import keyword_stats
    from db.vector_indexes import sync

    started = time.perf_counter()
    own = sync(conn)
    indexed = time.perf_counter()
    recounted = keyword_stats.sync(conn)
    counted = time.perf_counter()
    chunks = keyword_stats.counted(conn)
    largest = max(chunks, key=chunks.__getitem__)
    keyword_stats.refresh(conn, largest)
    return {
        "own": indexed - started,
        "own_count": len(own["created"]),
        "stats": counted - indexed,
        "stats_count": len(recounted),
        "stats_largest": time.perf_counter() - counted,
        "largest_chunks": chunks[largest],
    }


def exact_top(
    world: World, queries: list[tuple[Tenant, np.ndarray, str]], k: int = 10
) -> list[set[int]]:
    """The exact top k chunk numbers of each query within its tenant (cosine, numpy)."""
    by_tenant = defaultdict(list)
    for qi, (tenant, _, _) in enumerate(queries):
        by_tenant[tenant.index].append(qi)
    out: list[set[int]] = [set() for _ in queries]
    for index, qis in by_tenant.items():
        _, vectors = world.chunks(world.tenants[index])
        scores = np.stack([queries[qi][1] for qi in qis]) @ vectors.T
        for qi, row in zip(qis, scores, strict=False):
            out[qi] = {int(i) for i in np.argpartition(-row, k)[:k]}
    return out


def timed(conn, sql: str, params: list[tuple]) -> Iterator[tuple[float, list]]:
    for args in params:
        t0 = time.perf_counter()
        rows = conn.execute(sql, args).fetchall()
        yield (time.perf_counter() - t0) * 1000, rows


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def report(
    label: str,
    classes: dict[str, list[float]],
    recalls: dict[str, list[float]] | None,
    p50_target: float,
) -> None:
    print(f"\n{label}")
    print(
        f"  {'class':8s} {'queries':>7s} {'p50 ms':>8s} {'p95 ms':>8s} {'max ms':>8s} "
        f"{'recall@10':>10s} {'min':>5s}"
    )
    everything = [v for c in classes.values() for v in c]
    for name, values in [*classes.items(), ("all", everything)]:
        rec = recalls.get(name) if recalls else None
        rec_text = (
            f"{statistics.mean(rec):10.3f} {min(rec):5.1f}" if rec else f"{'-':>10s} {'-':>5s}"
        )
        print(
            f"  {name:8s} {len(values):7d} {pct(values, 0.5):8.2f} {pct(values, 0.95):8.2f} "
            f"{max(values):8.2f} {rec_text}"
        )
    print(
        f"  (targets: p50 <= {p50_target:g} ms"
        + (", p95 <= 40 ms, recall@10 >= 0.95)" if recalls else ")")
    )


def vector_pass(
    conn, world: World, queries: list[tuple[Tenant, np.ndarray, str]]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """search_embeddings for each query: latency and recall@10 by size class."""
    sql = "SELECT metadata FROM search_embeddings(%s, %s, 10, %s)"
    results = list(timed(conn, sql, [(q, t.domain, world.model) for t, q, _ in queries]))
    lat, rec = defaultdict(list), defaultdict(list)
    for (tenant, _, _), (ms, rows), truth in zip(
        queries, results, exact_top(world, queries), strict=False
    ):
        lat[tenant.size_class].append(ms)
        rec[tenant.size_class].append(len({r["metadata"]["n"] for r in rows} & truth) / 10)
    rec["all"] = [r for c in list(rec.values()) for r in c]
    return lat, rec


def measure_bulk(conn, world: World, queries: list[tuple[Tenant, np.ndarray, str]]) -> None:
    """search_embeddings right after the bulk load: no domain has its own index (migration
    0077: the shared graph for a domain of >= 5 % of all chunks, binary-quantised candidates
    re-ranked exactly for the others, exact up to 200 chunks)."""
    for tenant, q, _ in queries[:20]:
        conn.execute(
            "SELECT * FROM search_embeddings(%s, %s, 10, %s)", (q, tenant.domain, world.model)
        ).fetchall()
    lat, rec = vector_pass(conn, world, queries)
    plans = sample_plans(conn, world, queries)
    print(
        "load average during the queries (2 cores, shared machine): "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    report(
        "bulk load, before maintenance: search_embeddings (no domain has its own index: "
        "shared graph for >= 5 % of all chunks, binary candidates re-ranked otherwise)",
        lat,
        rec,
        15,
    )
    print_plans(plans)


def measure(conn, world: World, queries: list[tuple[Tenant, np.ndarray, str]]) -> None:
    """Run the queries through both functions and print the tables and plans."""
    for tenant, q, _ in queries[:20]:  # warm the caches
        conn.execute(
            "SELECT * FROM search_embeddings(%s, %s, 10, %s)", (q, tenant.domain, world.model)
        ).fetchall()
    lat_v, rec = vector_pass(conn, world, queries)
    hyb_sql = "SELECT id FROM hybrid_search(%s, %s, %s, 10, %s)"
    lat_h = defaultdict(list)
    for (tenant, _, _), (ms, _) in zip(
        queries,
        timed(conn, hyb_sql, [(text, q, t.domain, world.model) for t, q, text in queries]),
        strict=False,
    ):
        lat_h[tenant.size_class].append(ms)
    # Off-topic: each tenant asked another tenant's question (its vector lands among other
    # tenants' chunks: the hard case for a filtered walk of a shared graph).
    off = [
        (t, next(v for u, v, _ in queries[i + 1 :] + queries[:i] if u is not t), text)
        for i, (t, _, text) in enumerate(queries)
    ]
    lat_o, rec_o = vector_pass(conn, world, off)
    plans = sample_plans(conn, world, queries)
    print(
        "load average during the queries (2 cores, shared machine): "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    report("search_embeddings(vector, domain, 10, model)", lat_v, rec, 15)
    report("hybrid_search(text, vector, domain, 10, model)", lat_h, None, 30)
    report("search_embeddings, off-topic (another tenant's question)", lat_o, rec_o, 15)
    print_plans(plans)


def sample_plans(
    conn, world: World, queries: list[tuple[Tenant, np.ndarray, str]]
) -> dict[str, list[str]]:
    """The plans search_embeddings runs for the largest, a middle and the smallest tenant."""
    plans = {}
    conn.execute("LOAD 'auto_explain'")
    for tenant in (world.tenants[0], world.tenants[len(world.tenants) // 3], world.tenants[-1]):
        q = next(v for t, v, _ in queries if t is tenant)
        plans[f"{tenant.domain} ({tenant.size:,} chunks)"] = explain(
            conn, q, tenant.domain, world.model
        )
    return plans


def print_plans(plans: dict[str, list[str]]) -> None:
    for domain, plan in plans.items():
        print(f"\nplan of search_embeddings for {domain}:\n  " + "\n  ".join(plan))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=40)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--model", choices=sorted(TRUE_DIMS), default="text-embedding-3-small")
    parser.add_argument(
        "--query-seed",
        type=int,
        default=QUERY_SEED,
        help=f"seed of the queries ({QUERY_SEED}: the tuning set; another: held-out figures)",
    )
    args = parser.parse_args()
    world = World(args.tenants, args.chunks, args.model)
    queries = world.queries(args.queries, args.query_seed)

    with bench_env(redis=False):
        from db.connection import connect

        with connect(autocommit=True) as conn:
            times = load(conn, world)
            sizes = [t.size for t in world.tenants]
            print(
                f"tenants {len(sizes)} (largest {sizes[0]:,}, 4th {sizes[3]:,}, 15th "
                f"{sizes[min(14, len(sizes) - 1)]:,}, smallest {sizes[-1]:,}), chunks "
                f"{sum(sizes):,}, model {world.model} ({world.dims} dims stored as {STORED_DIMS})"
            )
            print(f"queries: {len(queries)}, seed {args.query_seed}")
            print(
                f"load (binary COPY) {times['load']:.1f} s; shared indexes built in "
                f"{times['build']:.1f} s"
            )
            measure_bulk(conn, world, queries)
            times.update(maintain(conn))
            print(
                f"\nmaintenance (db.vector_indexes.sync): {times['own_count']} domains' own "
                f"HNSW indexes in {times['own']:.1f} s; keyword stop words of "
                f"{times['stats_count']} domains counted in {times['stats']:.1f} s (the largest, "
                f"{times['largest_chunks']:,} chunks, recounted alone: "
                f"{times['stats_largest']:.2f} s)"
            )
            printed: set[str] = set()
            for r in conn.execute(
                "SELECT CASE WHEN c.relname LIKE 'idx_page_embeddings_vector_d_%%' "
                "THEN 'idx_page_embeddings_vector_d_* (' || count(*) OVER (PARTITION BY "
                "c.relname LIKE 'idx_page_embeddings_vector_d_%%') || ')' ELSE c.relname END AS "
                "name, "
                "sum(pg_relation_size(c.oid)) OVER (PARTITION BY CASE WHEN c.relname LIKE "
                "'idx_page_embeddings_vector_d_%%' THEN '' ELSE c.relname END) AS bytes "
                "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = 'page_embeddings'::regclass ORDER BY bytes DESC"
            ):
                if r["name"] not in printed:
                    printed.add(r["name"])
                    print(f"  index {r['name']:42s} {r['bytes'] / 2**20:8.1f} MB")
            print(
                "  table (with TOAST) "
                + conn.execute(
                    "SELECT pg_size_pretty(pg_table_size('page_embeddings')) AS s"
                ).fetchone()["s"]
            )
            measure(conn, world, queries)


def explain(conn, vector: np.ndarray, domain: str, model: str) -> list[str]:
    """The plans search_embeddings runs for this domain (auto_explain of the nested statements
    on page_embeddings: one, or the binary path's candidates and re-rank)."""
    lines: list[str] = []
    seen: set[str] = set()
    with conn.transaction(force_rollback=True):
        conn.execute("SET LOCAL auto_explain.log_min_duration = 0")
        conn.execute("SET LOCAL auto_explain.log_nested_statements = on")
        conn.execute("SET LOCAL auto_explain.log_analyze = on")
        conn.execute("SET LOCAL auto_explain.log_timing = off")
        conn.execute("SET LOCAL client_min_messages = log")
        notices: list[str] = []
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        conn.execute(
            "SELECT count(*) FROM search_embeddings(%s, %s, 10, %s)", (vector, domain, model)
        ).fetchall()
        conn._notice_handlers.clear()
        for message in notices:
            if (
                "FROM public.page_embeddings" in message
                and "Query Parameters" in message
                and "pg_catalog.pg_class" not in message
            ):
                plan = message.split("Query Parameters:", 1)[1].split("\n", 1)[1]
                if plan in seen:  # the same statement again (planning estimates run it too)
                    continue
                seen.add(plan)
                lines += [
                    re.sub(
                        r"'\{[^}]*\}'",
                        "'{...}'",
                        re.sub(r"'\[[^\]]*\]'", "'[...]'", line.split("(cost")[0].rstrip()),
                    )
                    for line in plan.splitlines()
                    if line.strip()
                ][:16]
    return lines


if __name__ == "__main__":
    main()

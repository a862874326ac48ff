"""The fault suite's full matrix: every scenario of issue 27 on a multi-hundred-page site, with
the recovery settings an installation gets by default (or `--fast`: the tests' scaled-down
ones), each run checked in SQL and against the local API server's billing, and the time to
recover measured. The CI part is tests/workers/test_faults.py.

    .venv/bin/python bench/faults.py                       # 400 pages, every scenario once
    .venv/bin/python bench/faults.py --pages 614 --runs 3 --only sigkill,pg_restart

Prints one row per run: the scenario, how long its fault lasted, the seconds from the end of
the fault until every job had completed and every page was embedded ("recovered after"), and
the checks (pages without embeddings, duplicate rows, jobs left unfinished or running without a
live lease, recorded vs billed tokens). Each run gets a fresh database on a private embedded
Postgres (so it can be restarted) and a flushed private Redis.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.faults import Rig, assert_clean, rig
from tests.support.openai_server import Reply
from tests.support.servers import start_on_same_port
from tests.support.worker_fixtures import FAST_RECOVERY

TIMEOUT_S = 900


def _start(r: Rig, workers: int = 1) -> None:
    for _ in range(workers):
        r.start_worker(threads=2)


def _embedding(r: Rig, workers: int = 1) -> None:
    """Workers started, the jobs enqueued, and the first requests answered."""
    _start(r, workers)
    r.enqueue()
    r.wait_until(lambda: r.server.billed_requests >= 2, 120, "embedding to start")


def _for(seconds: float, fault: Callable[[], None], heal: Callable[[], None]) -> float:
    fault()
    time.sleep(seconds)
    heal()
    return seconds


def baseline(r: Rig, pg) -> float:
    """No fault: how long the site takes (the other rows' "recovered after" compares to it)."""
    _start(r)
    r.enqueue()
    return 0


def redis_cut_at_enqueue(r: Rig, pg) -> float:
    """Redis unreachable for 30 s as the crawl enqueues its jobs."""
    _start(r)
    return _for(30, lambda: (r.redis_proxy.cut(), r.enqueue()), r.redis_proxy.heal)


def redis_blip_and_api_failure(r: Rig, pg) -> float:
    """The embedding API fails for 20 s, Redis drops for 10 s inside that."""
    _embedding(r)
    r.server.fail_with(500, seconds=20)
    time.sleep(5)
    _for(10, r.redis_proxy.cut, r.redis_proxy.heal)
    time.sleep(5)
    return 20


def api_429_burst(r: Rig, pg) -> float:
    """Every request answered 429 (Retry-After: 1) for 30 s."""
    _embedding(r)
    return _for(30, lambda: r.server.fail_with(429, seconds=30), lambda: None)


def sigkill(r: Rig, pg) -> float:
    """A worker SIGKILLed while a request hangs; a second worker starts."""
    r.server.script(*[Reply()] * 3, Reply.slow(120), path="/v1/embeddings")
    _start(r)
    r.enqueue()
    r.wait_until(
        lambda: (
            r.server.billed_requests >= 3
            and r.report()["recorded_tokens"] == r.server.billed_tokens
        ),
        120,
        "checkpoints",
    )
    r.signal(r.workers[0], signal.SIGKILL)
    _start(r)
    return 0


def sigstop_past_heartbeat(r: Rig, pg) -> float:
    """One of two workers paused (SIGSTOP) for 90 s, past the broker heartbeat and the lease,
    then resumed: the other takes its jobs; the resumed one writes nothing of them."""
    _embedding(r, workers=2)
    return _for(
        90,
        lambda: r.signal(r.workers[0], signal.SIGSTOP),
        lambda: r.signal(r.workers[0], signal.SIGCONT),
    )


def pg_cut(r: Rig, pg) -> float:
    """The workers' Postgres connections cut for 30 s mid-embed."""
    _embedding(r)
    return _for(30, r.pg_proxy.cut, r.pg_proxy.heal)


def pg_stall(r: Rig, pg) -> float:
    """The workers' Postgres connections hang (nothing forwarded) for 60 s."""
    _embedding(r)
    return _for(60, r.pg_proxy.stall, r.pg_proxy.heal)


def pg_restart(r: Rig, pg) -> float:
    """Postgres itself restarted mid-embed (down ~5 s)."""
    _embedding(r)
    started = time.monotonic()
    r.conn.close()
    pg.restart()
    r.reconnect()
    return time.monotonic() - started


def slow_links(r: Rig, pg) -> float:
    """Every packet to Redis and Postgres 50 ms late for the whole run."""
    r.redis_proxy.delay(0.05)
    r.pg_proxy.delay(0.05)
    _start(r)
    r.enqueue()
    return 0


SCENARIOS: dict[str, Callable[[Rig, object], float]] = {
    "baseline": baseline,
    "redis_cut_at_enqueue": redis_cut_at_enqueue,
    "redis_blip_and_api_failure": redis_blip_and_api_failure,
    "api_429_burst": api_429_burst,
    "sigkill": sigkill,
    "sigstop_past_heartbeat": sigstop_past_heartbeat,
    "pg_cut": pg_cut,
    "pg_stall": pg_stall,
    "pg_restart": pg_restart,
    "slow_links": slow_links,
}


class PrivatePostgres:
    """An embedded Postgres of the benchmark's own, restartable on the same port."""

    def __init__(self) -> None:
        from interfaces.services import EmbeddedPostgres

        base = REPO / ".omni-test"
        base.mkdir(exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix="faults-pg-", dir=base))
        self.pg = EmbeddedPostgres(self.root)
        self.url = self.pg.start()

    def restart(self) -> None:
        pg = self.pg
        pg.stop()
        time.sleep(5)
        start_on_same_port(pg, self.url)

    def close(self) -> None:
        self.pg.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def run_one(
    name: str, pages: int, pg: PrivatePostgres, redis_url: str, worker_env: dict, logs: Path
) -> dict:
    import redis as redis_lib

    from db.connection import connect
    from tests.support.environment import database_on, fresh_database, migrated_environ

    redis_lib.Redis.from_url(redis_url).flushdb()
    admin = database_on(pg.url, "postgres")
    with (
        fresh_database(admin, "omni_faults") as url,
        migrated_environ(
            {"DATABASE_URL": url, "REDIS_URL": redis_url, "OMNI_LOG_LEVEL": "WARNING"}
        ),
    ):
        conn = connect(autocommit=True)
        with rig(conn, url, redis_url, logs, worker_env) as r:
            r.reconnect = lambda: setattr(r, "conn", _connect_when_up(url))
            r.seed(pages)
            began = time.monotonic()
            fault_s = SCENARIOS[name](r, pg)
            fault_end = time.monotonic()
            r.wait_until(r.done, TIMEOUT_S, f"{name} to recover")
            report = r.report()
            report.update(
                scenario=name,
                fault_s=round(fault_s, 1),
                recovered_after_s=round(time.monotonic() - fault_end, 1),
                total_s=round(time.monotonic() - began, 1),
            )
            try:
                assert_clean(report)
                report["ok"] = True
            except AssertionError:
                report["ok"] = False
        r.conn.close()
    return report


def _connect_when_up(url: str):
    from db.connection import connect

    deadline = time.monotonic() + 120
    while True:
        try:
            return connect(autocommit=True, dsn=url)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument(
        "--fast",
        action="store_true",
        help="the tests' scaled-down recovery settings instead of the defaults",
    )
    args = parser.parse_args()
    chosen = [s for s in args.only.split(",") if s] or list(SCENARIOS)
    worker_env = {**FAST_RECOVERY, "OMNI_WORKER_MAX_BACKOFF_MS": "5000"} if args.fast else {}
    from tests.support.environment import private_redis

    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="omni-faults-")))
        pg = PrivatePostgres()
        stack.callback(pg.close)
        redis_url = stack.enter_context(private_redis(tmp / "redis"))
        print(f"{args.pages} pages, {'fast' if args.fast else 'default'} recovery settings")
        print(
            "| scenario | fault (s) | recovered after (s) | total (s) | pages without "
            "embeddings | duplicate rows | unfinished jobs | running without lease | "
            "recorded / billed tokens | ok |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for name in chosen:
            for run in range(args.runs):
                logs = tmp / f"{name}-{run}"
                logs.mkdir()
                rep = run_one(name, args.pages, pg, redis_url, worker_env, logs)
                unfinished = sum(n for s, n in rep["jobs"].items() if s != "completed")
                print(
                    f"| {name} | {rep['fault_s']} | {rep['recovered_after_s']} | "
                    f"{rep['total_s']} | {rep['pages_without_embeddings']} | "
                    f"{rep['duplicate_rows']} | {unfinished} | "
                    f"{rep['running_without_live_lease']} | {rep['recorded_tokens']} / "
                    f"{rep['billed_tokens']} | {'yes' if rep['ok'] else 'NO'} |",
                    flush=True,
                )
                if not rep["ok"]:
                    kept = REPO / "bench" / "results" / f"faults-{name}-{run}"
                    shutil.copytree(logs, kept, dirs_exist_ok=True)
                    print(f"  logs kept in {kept}", flush=True)


if __name__ == "__main__":
    main()

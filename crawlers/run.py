"""Running a crawl.

- `run_crawl(domain, job_id=..., runner=..., progress=...)`: in THIS process (a Twisted reactor
  can run once per process, so call it once per process).
- `crawl_child(job_id, runner)`: `python -m crawlers.run --job-id <id> --runner <token>` in a
  fresh process group, for a job the caller has started (`db.jobs.start`) and still holds. It
  returns the crawl's stats or raises `CrawlFailed` with the reason (exit code, signal, time
  out, or the crawl's own error). The group is killed on every way out, so a caller that gives
  up (a Dramatiq time limit, a shutdown) never leaves a crawl running beside its retry.
- `run_crawl_subprocess(job_id)`: `omni crawl`'s owner: starts the job, runs the child,
  completes or fails the job, and returns the job's final stats.

The child prints one `PROGRESS {json}` line per second and a final `RESULT {json}` line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from core import processes
from core.domains import normalize_domain
from db import jobs, tenants
from db.connection import connect

if TYPE_CHECKING:
    from scrapy.settings import Settings

REPO = Path(__file__).resolve().parent.parent
ProgressFn = Callable[[dict[str, Any]], None]
# Seconds a child gets to stop after SIGTERM before the group is killed.
TERM_GRACE_S = 5.0
EXIT_NOT_OURS = 3


class CrawlFailed(Exception):
    """The crawl child did not finish its crawl (the actor retries it while retries remain)."""


def crawler_settings(progress: ProgressFn | None = None, **overrides: Any) -> Settings:
    # Scrapy loads in the process that crawls: a worker or `omni crawl` only spawns that child.
    from scrapy.settings import Settings  # noqa: PLC0415 - see the comment above

    settings = Settings()
    settings.setmodule("crawlers.settings", priority="project")
    if progress is not None:
        settings.set("OMNI_PROGRESS_CALLBACK", progress, priority="cmdline")
    for key, value in overrides.items():
        settings.set(key, value, priority="cmdline")
    return settings


def create_crawl_job(domain_or_url: str) -> tuple[str, str]:
    """Register the domain if it is new and create its pending crawl job: (domain, job id)."""
    domain = normalize_domain(domain_or_url)
    metadata: dict[str, Any] = {"domain": domain}
    if "://" in domain_or_url:
        metadata["start_url"] = domain_or_url.strip()
    with connect(autocommit=True) as conn:
        row = tenants.get_domain(conn, domain) or tenants.add_domain(conn, domain)
        job_id = jobs.create(conn, row["id"], jobs.JobType.CRAWL, metadata)
    return domain, str(job_id)


def run_crawl(
    domain: str,
    *,
    job_id: UUID | str | None = None,
    runner: str | None = None,
    progress: ProgressFn | None = None,
    start_url: str | None = None,
    **setting_overrides: Any,
) -> dict[str, Any]:
    """Crawl in this process. With `runner`, the job is held by a parent that records the
    outcome; without, the crawl's job extension starts and finishes the job itself."""
    # Scrapy, its reactor and the spider load here, in the crawling process (crawler_settings).
    from scrapy.crawler import CrawlerProcess  # noqa: PLC0415 - see the comment above

    from crawlers.jobrun import last_result  # noqa: PLC0415 - the crawling process only, as above
    from crawlers.spiders.site import SiteSpider  # noqa: PLC0415 - the crawling process only, as above

    if job_id is None:
        domain, job_id = create_crawl_job(start_url or domain)
    job_id = str(job_id)
    with connect(autocommit=True) as conn:
        job = jobs.get(conn, job_id)
    if job is None:
        raise ValueError(f"no crawl job {job_id}")
    if runner is None and job["status"] in (jobs.Status.COMPLETED, jobs.Status.FAILED):
        return final_stats(job_id)  # done, or failed: only a retry (jobs.retry) revives it
    start_url = start_url or (job["metadata"] or {}).get("start_url")
    process = CrawlerProcess(crawler_settings(progress, **setting_overrides))
    process.crawl(SiteSpider, domain=domain, job_id=job_id, start_url=start_url, runner=runner)
    process.start()
    result = last_result()
    if result is None:
        if runner is None:
            _fail_unfinished(job_id, "crawl ended without recording a result")
        return {**final_stats(job_id), "ok": False, "error": "crawl ended without a result"}
    return result if runner else {**final_stats(job_id), "ok": result["ok"]}


def final_stats(job_id: str) -> dict[str, Any]:
    with connect(autocommit=True) as conn:
        job = jobs.get(conn, job_id)
    if job is None:
        raise CrawlFailed(f"crawl job {job_id} does not exist")
    stats = dict((job["metadata"] or {}).get("stats") or {})
    stats.update(
        job_id=job_id,
        status=job["status"],
        error=job["error_message"],
        domain=job["domain"],
        attempts=(job["metadata"] or {}).get("attempts"),
    )
    return stats


def _fail_unfinished(job_id: str, reason: str) -> None:
    with connect(autocommit=True) as conn:
        jobs.fail(conn, job_id, reason)


# --------------------------------------------------------------------------- the child process


def describe_exit(code: int, stderr_tail: str) -> str:
    """Why a crawl child ended badly, from its exit code (negative: the signal) and stderr."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"crawl process was killed by {name}"
    last = " ".join(stderr_tail.split())[-1000:]
    return (
        f"crawl process exited with {code}: {last}" if last else f"crawl process exited with {code}"
    )


def crawl_child(
    job_id: UUID | str,
    runner: str,
    progress: ProgressFn | None = None,
    timeout: float | None = None,
    *,
    term_grace: float = TERM_GRACE_S,
    on_start: Callable[[subprocess.Popen], None] | None = None,
) -> dict[str, Any]:
    """Run the crawl of a job the caller holds (`runner`) in a child process group; its stats,
    or CrawlFailed. The group is killed however this returns (time limits included)."""
    command = [sys.executable, "-m", "crawlers.run", "--job-id", str(job_id), "--runner", runner]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = processes.spawn(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    stderr_tail: list[str] = []
    result: dict[str, Any] = {}
    assert proc.stdout is not None and proc.stderr is not None, "spawned with both piped"
    child_out, child_err = proc.stdout, proc.stderr

    def drain_stderr() -> None:
        for line in child_err:
            stderr_tail.append(line)
            del stderr_tail[:-40]

    def drain_stdout() -> None:
        for line in child_out:
            kind, _, payload = line.partition(" ")
            try:
                if kind == "PROGRESS" and progress is not None:
                    progress(json.loads(payload))
                elif kind == "RESULT":
                    result.update(json.loads(payload))
            except ValueError:
                pass

    readers = [threading.Thread(target=f, daemon=True) for f in (drain_stderr, drain_stdout)]
    for reader in readers:
        reader.start()
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        if on_start is not None:
            on_start(proc)
        # Short waits: an asynchronous exception (Dramatiq's time limit) lands between them.
        while proc.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise CrawlFailed(f"crawl timed out after {timeout}s")
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.2)
    finally:
        processes.stop(proc, grace=term_grace, term_group=False)
        for reader in readers:
            reader.join(timeout=5)
    code = proc.returncode
    if code == 0 and result.get("ok"):
        return result.get("stats") or {}
    if result.get("error"):
        raise CrawlFailed(result["error"])
    raise CrawlFailed(describe_exit(code, "".join(stderr_tail[-5:])))


def run_crawl_subprocess(
    job_id: UUID | str, progress: ProgressFn | None = None, timeout: float | None = None
) -> dict[str, Any]:
    """`omni crawl`: start the job, crawl in a child process, complete or fail the job (no
    retry: the operator is watching); the job's final stats."""
    job_id = str(job_id)
    with connect(autocommit=True) as conn:
        job = jobs.start(conn, job_id)
    if job is None:
        return final_stats(job_id)
    runner = job["runner"]
    try:
        stats = crawl_child(job_id, runner, progress, timeout)
    except BaseException as exc:
        reason = str(exc) if isinstance(exc, CrawlFailed) else f"{type(exc).__name__}: {exc}"
        with connect(autocommit=True) as conn:
            jobs.fail(conn, job_id, reason, runner=runner)
        if not isinstance(exc, CrawlFailed):
            raise
    else:
        with connect(autocommit=True) as conn:
            jobs.complete(conn, job_id, runner, {"stats": stats})
    return final_stats(job_id)


def main(argv: list[str] | None = None) -> int:
    processes.die_with_parent()
    parser = argparse.ArgumentParser(prog="python -m crawlers.run")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--job-id")
    group.add_argument("--domain")
    parser.add_argument("--runner", help="the token of the runner holding the job")
    args = parser.parse_args(argv)

    def emit(stats: dict[str, Any]) -> None:
        print("PROGRESS " + json.dumps(stats), flush=True)

    if args.job_id:
        with connect(autocommit=True) as conn:
            job = jobs.get(conn, args.job_id)
        if job is None:
            print(f"error: no job {args.job_id}", file=sys.stderr)
            return 2
        if not jobs.is_crawl(job["job_type"]):
            print(f"error: job {args.job_id} is a {job['job_type']} job", file=sys.stderr)
            return 2
        if args.runner and (
            job["status"] != jobs.Status.RUNNING or jobs.runner_of(job) != args.runner
        ):
            print(
                f"error: job {args.job_id} is {job['status']} and not held by this runner",
                file=sys.stderr,
            )
            return EXIT_NOT_OURS
        result = run_crawl(job["domain"], job_id=args.job_id, runner=args.runner, progress=emit)
    else:
        result = run_crawl(args.domain, progress=emit)
    print("RESULT " + json.dumps(result, default=str), flush=True)
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())

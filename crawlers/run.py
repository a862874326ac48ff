"""Running a crawl.

- `run_crawl(domain, job_id=..., progress=...)`: in THIS process (a Twisted reactor can run once
  per process, so call it once per process).
- `run_crawl_subprocess(job_id)`: `python -m crawlers.run --job-id <id>` in a fresh process (what
  the Dramatiq actor `crawl_domain` and `omni crawl` use); returns the job's final stats. If the
  process dies, the job is failed with the reason.

The child prints one `PROGRESS {json}` line per second and a final `RESULT {json}` line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from db import jobs, tenants
from db.connection import connect
from omni import processes
from omni.domains import normalize_domain

REPO = Path(__file__).resolve().parent.parent
ProgressFn = Callable[[dict[str, Any]], None]


def crawler_settings(progress: ProgressFn | None = None, **overrides: Any) -> Any:
    from scrapy.settings import Settings

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
        job_id = jobs.create(conn, row["id"], "crawl", metadata)
    return domain, str(job_id)


def run_crawl(domain: str, *, job_id: UUID | str | None = None,
              progress: ProgressFn | None = None, start_url: str | None = None,
              **setting_overrides: Any) -> dict[str, Any]:
    from scrapy.crawler import CrawlerProcess

    from crawlers.spiders.site import SiteSpider

    if job_id is None:
        domain, job_id = create_crawl_job(start_url or domain)
    job_id = str(job_id)
    with connect(autocommit=True) as conn:
        job = jobs.get(conn, job_id)
    if job is None:
        raise ValueError(f"no crawl job {job_id}")
    if job["status"] == "completed":  # a redelivered message: nothing to do
        return dict((job["metadata"] or {}).get("stats") or {})
    start_url = start_url or (job["metadata"] or {}).get("start_url")
    try:
        process = CrawlerProcess(crawler_settings(progress, **setting_overrides))
        process.crawl(SiteSpider, domain=domain, job_id=job_id, start_url=start_url)
        process.start()
    except BaseException as exc:
        _fail_if_unfinished(job_id, f"crawl crashed: {type(exc).__name__}: {exc}")
        raise
    _fail_if_unfinished(job_id, "crawl ended without recording a result")
    return final_stats(job_id)


def final_stats(job_id: str) -> dict[str, Any]:
    with connect(autocommit=True) as conn:
        job = jobs.get(conn, job_id)
    stats = dict((job["metadata"] or {}).get("stats") or {})
    stats.update(job_id=job_id, status=job["status"], error=job["error_message"],
                 domain=job["domain"])
    return stats


def _fail_if_unfinished(job_id: str, reason: str) -> None:
    with connect(autocommit=True) as conn:
        job = jobs.get(conn, job_id)
        if job and job["status"] in ("pending", "running"):
            jobs.fail(conn, job_id, reason)


def run_crawl_subprocess(job_id: UUID | str, progress: ProgressFn | None = None,
                         timeout: float | None = None) -> dict[str, Any]:
    """Run the crawl in a fresh Python process (fresh reactor); the job's final stats."""
    job_id = str(job_id)
    command = [sys.executable, "-m", "crawlers.run", "--job-id", job_id]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = processes.spawn(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    stderr_tail: list[str] = []

    import threading

    def drain_stderr() -> None:
        for line in proc.stderr:  # type: ignore[union-attr]
            stderr_tail.append(line)
            del stderr_tail[:-40]

    reader = threading.Thread(target=drain_stderr, daemon=True)
    reader.start()
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith("PROGRESS ") and progress is not None:
                try:
                    progress(json.loads(line[len("PROGRESS "):]))
                except ValueError:
                    pass
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = processes.kill(proc)
            _fail_if_unfinished(job_id, f"crawl timed out after {timeout}s")
    finally:
        # Whatever stops this caller (an actor's time limit, Ctrl-C, an error in `progress`),
        # the crawl and its browser stop with it.
        processes.kill(proc)
    reader.join(timeout=5)
    if code != 0:
        last = " ".join("".join(stderr_tail[-5:]).split())[-1000:]
        _fail_if_unfinished(job_id, f"crawl process exited with {code}: {last}")
    return final_stats(job_id)


def main(argv: list[str] | None = None) -> int:
    processes.die_with_parent()
    parser = argparse.ArgumentParser(prog="python -m crawlers.run")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--job-id")
    group.add_argument("--domain")
    args = parser.parse_args(argv)

    def emit(stats: dict[str, Any]) -> None:
        print("PROGRESS " + json.dumps(stats), flush=True)

    if args.job_id:
        with connect(autocommit=True) as conn:
            job = jobs.get(conn, args.job_id)
        if job is None:
            print(f"error: no job {args.job_id}", file=sys.stderr)
            return 2
        if job["job_type"] not in ("crawl", "full"):
            print(f"error: job {args.job_id} is a {job['job_type']} job", file=sys.stderr)
            return 2
        stats = run_crawl(job["domain"], job_id=args.job_id, progress=emit)
    else:
        stats = run_crawl(args.domain, progress=emit)
    print("RESULT " + json.dumps(stats, default=str), flush=True)
    return 0 if stats.get("status") == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())

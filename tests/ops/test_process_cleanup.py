"""Nothing outlives its parent: SIGKILL the parent of each kind of process the project starts,
then every process below it (dramatiq's workers, the crawl child, Playwright's driver and
Chromium, the demo's workers) must be gone within a few seconds (core/processes.py)."""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import pytest

from db import tenants
from db.connection import connect
from interfaces.services import EmbeddedPostgres
from tests.ops.test_demo import _reader, _wait_line, demo_env  # noqa: F401 - fixture
from tests.support.environment import postgres_user
from tests.support.http_thread import serve_in_thread
from tests.support.paths import OMNI, REPO
from workers.refresh import queue_refresh

pytestmark = pytest.mark.slow
GONE_WITHIN_S = 10.0


class _EndlessSlowSite(BaseHTTPRequestHandler):
    """Every page links to the next and is written by JavaScript (so rendered in Chromium);
    each response takes a while, so a crawl of it is still running when its parent is killed."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/robots.txt":
            body, kind = b"User-agent: *\n", "text/plain"
        else:
            time.sleep(0.3)
            n = int(self.path.rsplit("/", 1)[-1]) if self.path.startswith("/p/") else 0
            body = (
                f"<!doctype html><html><head><title>Page {n}</title></head><body>"
                f"<div id=root></div><a href='/p/{n + 1}'>next</a><script>"
                f"document.getElementById('root').innerHTML = '<h1>Page {n}</h1><p>' + "
                f"'Rendered by script. '.repeat(40) + '</p>';</script></body></html>"
            ).encode()
            kind = "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def slow_site(db) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EndlessSlowSite)
    server.daemon_threads = True
    serve_in_thread(server)
    domain = f"127.0.0.1:{server.server_address[1]}"

    tenants.add_domain(db, domain, render_js=True, max_pages=10_000)
    yield domain
    server.shutdown()
    server.server_close()


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _cmdline(proc: psutil.Process) -> str:
    """Its command line, or "" for a short-lived process (Chromium's wrapper runs `expr`...)
    that ended since it was listed."""
    try:
        return " ".join(proc.cmdline())
    except psutil.NoSuchProcess:
        return ""


def _wait_for_descendant(
    pid: int, name: str, timeout: float = 120, count: int = 1
) -> list[psutil.Process]:
    """Wait until `count` processes whose name or command line contains `name` run below `pid`;
    return all of `pid`'s descendants at that moment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _descendants(pid)
        matching = 0
        for proc in found:
            try:
                matching += name in proc.name() or name in " ".join(proc.cmdline())
            except psutil.NoSuchProcess:
                continue
        if matching >= count:
            return found
        time.sleep(0.3)
    raise AssertionError(
        f"no {name!r} process below {pid}: {[_cmdline(p)[:80] for p in _descendants(pid)]}"
    )


def _assert_all_gone(processes: list[psutil.Process], within: float = GONE_WITHIN_S) -> None:
    _, alive = psutil.wait_procs(processes, timeout=within)
    survivors = []
    for proc in alive:
        try:
            survivors.append(f"{proc.pid} {' '.join(proc.cmdline())[:120]}")
            proc.kill()  # do not leak into the rest of the suite
        except psutil.NoSuchProcess:
            pass
    assert not survivors, "still running after the parent was killed:\n" + "\n".join(survivors)


def _sigkill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def test_sigkilled_worker_takes_dramatiq_the_crawl_and_chromium_along(
    services_env, slow_site, redis_client
) -> None:

    with connect(autocommit=True) as conn:
        queue_refresh(conn, slow_site, "crawl", False)
    worker = subprocess.Popen(
        [str(OMNI), "worker", "-Q", "crawl", "--processes", "1", "--threads", "1"],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        below = _wait_for_descendant(worker.pid, "chromium")
        commands = " ".join(_cmdline(p) for p in below)
        assert "-m workers" in commands and "crawlers.run" in commands, commands
        _sigkill(worker)
        _assert_all_gone(below)
    finally:
        if worker.poll() is None:
            worker.kill()


def test_sigkilled_omni_crawl_takes_the_crawl_child_and_chromium_along(
    services_env, slow_site
) -> None:
    crawl = subprocess.Popen(
        [str(OMNI), "crawl", slow_site, "--json"],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        below = _wait_for_descendant(crawl.pid, "chromium")
        _sigkill(crawl)
        _assert_all_gone(below)
    finally:
        if crawl.poll() is None:
            crawl.kill()


def test_sigkilled_demo_takes_its_workers_along(demo_env) -> None:  # noqa: F811 - fixture
    demo = subprocess.Popen(
        [str(OMNI), "demo", "--no-dashboard"],
        env=demo_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    log: list[str] = []
    threading.Thread(target=_reader, args=(demo, lines, log), daemon=True).start()
    try:
        _wait_line(lines, r"running the workers until idle", demo, log, 240)
        # omni worker, then dramatiq's main process and its forked worker process
        below = _wait_for_descendant(demo.pid, "workers.actors:setup_worker", timeout=60, count=2)
        _sigkill(demo)
        _assert_all_gone(below)
    finally:
        if demo.poll() is None:
            demo.kill()


def _child_data_dir() -> Path:
    # Beside the suite's own (the embedded Postgres runs as a system user that cannot enter
    # pytest's private tmp dirs)
    return REPO / f".omni-test-child-{uuid.uuid4().hex[:8]}"


def _child_env(data_dir: Path) -> dict[str, str]:
    """A pytest run of its own: its own data dir (so its own embedded Postgres), no services of
    this run, nothing of this run's xdist worker."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("PYTEST_")
    }
    env.update(OMNI_TEST_DATA_DIR=str(data_dir), PYTEST_ADDOPTS="")
    return env


def _started_by(data_dir: Path, pids: list[int]) -> list[psutil.Process]:
    """The processes below `pids` and the servers of `data_dir` (its embedded Postgres, whose
    command line names it, and every Redis whose pid file is under it) with their children."""
    found = {p.pid: p for pid in pids for p in _descendants(pid)}
    servers = [p for p in psutil.process_iter(["cmdline"]) if str(data_dir) in _cmdline(p)]
    for pid_file in data_dir.rglob("redis.pid"):
        with contextlib.suppress(psutil.NoSuchProcess, ValueError):
            servers.append(psutil.Process(int(pid_file.read_text())))
    for proc in servers:
        found[proc.pid] = proc
        found.update({c.pid: c for c in _descendants(proc.pid)})
    return list(found.values())


def test_the_shared_test_server_is_stopped_by_its_last_user_only(tmp_path) -> None:
    """A test run and a benchmark share `.omni-test`'s Postgres (tests/support/environment.py):
    whichever ends first leaves it running for the other, the last one out stops it, and a user
    that comes later gets its own stop. (A benchmark that did not register stopped it under a
    100k-page crawl.)"""
    stops: list[str] = []
    with postgres_user(tmp_path, lambda: stops.append("bench")):
        with postgres_user(tmp_path, lambda: stops.append("suite")):
            pass
        assert stops == []  # the suite ended while the bench still works on the server
    assert stops == ["bench"]
    with postgres_user(tmp_path, lambda: stops.append("next")):
        pass
    assert stops == ["bench", "next"]


def test_the_test_suite_stops_the_servers_it_started(tmp_path) -> None:
    """A pytest run on its own data dir starts its embedded Postgres and Redis; once it has
    exited, no process of either is left (tests/conftest.py: the last session stops them)."""

    data_dir = _child_data_dir()
    env = _child_env(data_dir)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-n",
            "0",
            "-p",
            "no:cacheprovider",
            f"--basetemp={data_dir / 'tmp'}",  # its Redis lives there
            "tests/db/test_jobs.py::test_release_then_retry_counts_each_attempt_once",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    try:
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        assert (data_dir / "postgres" / "data" / "PG_VERSION").exists()  # it ran its own server
        left = [
            p
            for p in psutil.process_iter(["pid", "cmdline"])
            if str(data_dir) in " ".join(p.info["cmdline"] or [])
        ]
        _assert_all_gone(left)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


# Two tests, one per xdist worker: one stops when interrupted (its session tears down), the
# other ignores SIGINT and SIGTERM (a test stuck in a slow teardown, say), so its worker dies
# with its fixtures still up when execnet gives up on it.
_WAITING_TESTS = """
import os
import signal
import time
from pathlib import Path

import pytest


@pytest.mark.parametrize("stubborn", [False, True])
def test_waits(services_env, db, stubborn):
    if stubborn:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    ready = Path(os.environ["OMNI_CHILD_READY"]) / str(os.getpid())
    ready.write_text(services_env["REDIS_URL"])
    time.sleep(600)
"""


@pytest.fixture(scope="module")
def child_data_dir() -> Iterator[Path]:
    """One data dir for the interrupted runs (its Postgres is initialised once)."""
    data_dir = _child_data_dir()
    data_dir.mkdir()
    (data_dir / "test_waits.py").write_text(_WAITING_TESTS)
    yield data_dir
    with contextlib.suppress(subprocess.CalledProcessError):  # killed by a failure
        EmbeddedPostgres(data_dir).stop()  # left by a failure; not to be orphaned by the rmtree
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_an_interrupted_test_suite_stops_every_server_it_started(child_data_dir, signum) -> None:
    """A pytest run with two xdist workers (each with its embedded Redis, sharing the data
    dir's embedded Postgres), stopped mid-test by SIGTERM (a CI timeout, `pkill -TERM -f
    pytest`) or SIGKILL sent to the pytest process: nothing it started is left, the servers
    included, also those of the worker that ignored the signals (tests/conftest.py,
    tests/support/watchdog.py). (Ctrl-C was checked by hand the same way: without the
    watchdog, SIGINT to the pytest process alone left both workers' Redis running.)"""

    ready = child_data_dir / f"ready-{signum.name}"
    ready.mkdir()
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-n",
            "2",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.conftest",
            f"--basetemp={child_data_dir / 'tmp'}",  # the Redis servers live there
            str(child_data_dir / "test_waits.py"),
        ],
        cwd=REPO,
        env={**_child_env(child_data_dir), "OMNI_CHILD_READY": str(ready)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while len(list(ready.iterdir())) < 2 and run.poll() is None:
            assert time.monotonic() < deadline, "the child's tests did not start"
            time.sleep(0.2)
        assert run.poll() is None, run.communicate()[0][-3000:]
        redis_urls = {path.read_text() for path in ready.iterdir()}
        assert len(redis_urls) == 2  # a Redis per worker
        started = _started_by(child_data_dir, [run.pid])
        commands = [_cmdline(p) for p in started]
        assert sum("redis-server" in c for c in commands) == 2, commands
        assert sum(str(child_data_dir / "postgres") in c for c in commands) == 1, commands
        run.send_signal(signum)
        run.communicate(timeout=120)
        _assert_all_gone(started, within=60)
    finally:
        if run.poll() is None:
            run.kill()

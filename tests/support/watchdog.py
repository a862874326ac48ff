"""The suite stops every server it started, however it ends: a normal exit, Ctrl-C, SIGTERM (a
CI timeout, `pkill -TERM -f pytest`) or SIGKILL.

The embedded servers are daemons (`pg_ctl` starts the postmaster, as another OS user when run
as root; Redis forks itself into the background), so neither a parent-death signal nor the
process group reaches them, and the suite's Postgres is shared by every session using the data
dir (xdist workers, concurrent runs: tests/conftest.py), so it must outlive the session that
started it while another still uses it. Instead, a test process hands each embedded server it
starts to a watchdog (`stop_on_exit`): the first call spawns `python -m tests.support.watchdog`
in a session of its own (out of reach of signals sent to the suite's process group), whose
stdin is a pipe only this process writes, one line per server. The kernel closes the pipe when
the process ends, however it ended; the watchdog then stops each server still running and
exits. A shared server is stopped only once no session holds its users' lock (the watchdog
waits for the exclusive lock, as the last session out does).
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from interfaces.services import EmbeddedPostgres, EmbeddedRedis
from tests.support.paths import REPO, TEST_DATA_DIR

_started: dict[int, subprocess.Popen] = {}  # pid of the test process -> its watchdog
_lock = threading.Lock()


def stop_on_exit(server: EmbeddedPostgres | EmbeddedRedis, users_lock: Path | None = None) -> None:
    """Have `server` stopped when this process ends, if it is running then (with `users_lock`:
    once no process holds that lock either)."""
    kind = "postgres" if isinstance(server, EmbeddedPostgres) else "redis"
    line = json.dumps(
        {
            "kind": kind,
            "data_dir": str(server.root.parent),
            "users_lock": str(users_lock) if users_lock else None,
        }
    )
    with _lock:
        watchdog = _started.get(os.getpid())
        if watchdog is None or watchdog.poll() is not None:
            TEST_DATA_DIR.mkdir(parents=True, exist_ok=True)
            with open(TEST_DATA_DIR / "watchdog.log", "a") as log:
                watchdog = subprocess.Popen(
                    [sys.executable, "-m", "tests.support.watchdog"],
                    stdin=subprocess.PIPE,
                    stdout=log,
                    stderr=log,
                    cwd=REPO,
                    text=True,
                    start_new_session=True,
                )
            _started[os.getpid()] = watchdog
        assert watchdog.stdin is not None
        watchdog.stdin.write(line + "\n")
        watchdog.stdin.flush()


def _stop(entry: dict[str, str | None]) -> None:
    data_dir = Path(str(entry["data_dir"]))
    if not (data_dir / str(entry["kind"])).is_dir():
        return  # removed by its test
    server = EmbeddedPostgres(data_dir) if entry["kind"] == "postgres" else EmbeddedRedis(data_dir)
    if entry["users_lock"] is None:
        server.stop()
        return
    with open(entry["users_lock"], "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # granted once every session using it is gone
        server.stop()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    servers = [json.loads(line) for line in sys.stdin]  # until the test process is gone
    for entry in reversed(servers):
        try:
            _stop(entry)
        except Exception as exc:  # noqa: BLE001 - the next server is still stopped
            print(f"watchdog {os.getpid()}: could not stop {entry}: {exc}", file=sys.stderr)


if __name__ == "__main__":
    main()

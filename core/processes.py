"""Child processes that never outlive their parent.

Every process the project starts (the dramatiq workers behind `omni worker`, the crawl child
behind a crawl job, the workers the demo runs) goes through `spawn()`, and every such child calls
`die_with_parent()` first thing. Together they give three guarantees:

- **A killed parent takes its children along.** On Linux the child asks the kernel for SIGKILL
  when its parent dies (`PR_SET_PDEATHSIG`), which works even when the parent was SIGKILLed and
  even when the child is stuck (a SIGTERM handler blocked on a full log pipe, as dramatiq's can
  be). The dramatiq launcher also sets it in every process dramatiq forks, so the chain reaches
  the worker processes, their crawl children and, through Playwright's driver, Chromium.
- **A stopped parent stops its children.** `stop()` sends SIGTERM to the child's whole process
  group (each child leads its own; or to the child alone, if it stops its own children), waits,
  then SIGKILLs the group.
- **No stale parent.** The parent's pid travels in `OMNI_PARENT_PID`, which the child removes
  from its environment so that its own, unrelated subprocesses do not inherit it.

Elsewhere than Linux there is no parent-death signal: children are still stopped by `stop()` and
Ctrl-C, and a watcher thread exits the child when it notices its parent is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

PARENT_PID_ENV = "OMNI_PARENT_PID"
_PR_SET_PDEATHSIG = 1


def spawn(
    command: Sequence[str], *, env: dict[str, str] | None = None, **popen_kwargs: Any
) -> subprocess.Popen:
    """Start `command` as a child that dies with this process (it must call `die_with_parent`).

    The child leads a new process group, so `stop()` reaches everything it starts in turn, and
    a terminal's Ctrl-C reaches only this process, which then stops the child itself."""
    child_env = dict(os.environ if env is None else env)
    child_env[PARENT_PID_ENV] = str(os.getpid())
    return subprocess.Popen(list(command), env=child_env, start_new_session=True, **popen_kwargs)


def stop(proc: subprocess.Popen, grace: float = 10.0, *, term_group: bool = True) -> int:
    """SIGTERM the child's process group, wait up to `grace` seconds, then SIGKILL the group.
    Returns the child's exit code.

    `term_group=False` sends the SIGTERM to the child alone, for a child that stops what it
    started itself: a crawl closes its own browser. Terminated with it, Chromium died under
    Playwright's navigation in flight, which then never ended, so the crawl's graceful stop
    waited out its grace and was killed."""
    if proc.poll() is None:
        if term_group:
            _signal_group(proc, signal.SIGTERM)
        else:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    _signal_group(proc, signal.SIGKILL)  # stragglers of an exited leader too
    return proc.wait()


def _signal_group(proc: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signum)


def die_with_parent() -> None:
    """Call first thing in a process started by `spawn()`: exit as soon as the parent dies.
    A no-op for a process that was not started by `spawn()` (a command run from a shell)."""
    value = os.environ.pop(PARENT_PID_ENV, None)
    if not value:
        return
    try:
        parent = int(value)
    except ValueError:
        return
    _die_with(parent)


def die_with(parent: int, signum: int = signal.SIGKILL) -> None:
    """Ask for `signum` when `parent` (this process's parent now) dies: a process that was not
    started by `spawn()` but must not outlive its parent either (the test suite's xdist workers
    take SIGTERM, so they stop what they started)."""
    _die_with(parent, signum)


def die_with_parent_after_fork() -> None:
    """Make every process forked from this one die with it (dramatiq's worker and fork processes,
    which run no code of ours before their broker boots)."""
    parent: list[int] = []
    os.register_at_fork(
        before=lambda: parent.append(os.getpid()),
        after_in_parent=parent.clear,
        after_in_child=lambda: _die_with(parent.pop() if parent else os.getppid()),
    )


def _die_with(parent: int, signum: int = signal.SIGKILL) -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
    else:
        threading.Thread(
            target=_watch_parent, args=(parent, signum), name="parent-watch", daemon=True
        ).start()
    # The parent may have died before the signal was armed: then it will never come.
    if os.getppid() != parent:
        os._exit(1)


def _watch_parent(parent: int, signum: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os.kill(os.getpid(), signum)

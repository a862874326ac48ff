"""core.processes: children in their own group, stopped as a group, dying with their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from core import processes

# A child that starts a grandchild (in its group) and reports both pids, then sleeps.
FAMILY = """
import os, subprocess, sys, time
from core.processes import die_with_parent
die_with_parent()
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(os.getpid(), grandchild.pid, os.environ.get("OMNI_PARENT_PID"), flush=True)
time.sleep(120)
"""


def _gone(pids: list[int], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(
            psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
            for p in pids
        ):
            return True
        time.sleep(0.1)
    return False


def test_spawned_child_leads_its_own_group_and_stop_takes_the_group() -> None:
    child = processes.spawn([sys.executable, "-c", FAMILY], stdout=subprocess.PIPE, text=True)
    out = child.stdout.readline()  # type: ignore[union-attr]  # spawned with stdout=PIPE
    pid, grandchild, inherited = out.split()
    assert int(pid) == child.pid and os.getpgid(child.pid) == child.pid != os.getpgid(0)
    assert os.getpgid(int(grandchild)) == child.pid
    assert inherited == "None"  # the child took OMNI_PARENT_PID out of its environment
    assert processes.stop(child, grace=5) == -signal.SIGTERM
    assert _gone([int(grandchild)])


# A child that stops its own grandchild at SIGTERM, saying whether the signal reached it first.
STOPS_ITS_OWN = """
import signal, subprocess, sys, time
from core.processes import die_with_parent
die_with_parent()
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
def stop(*_):
    time.sleep(0.5)
    print("grandchild " + ("alive" if grandchild.poll() is None else "terminated"), flush=True)
    grandchild.terminate()
    grandchild.wait()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print(grandchild.pid, flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize(
    ("term_group", "grandchild_at_the_stop"),
    [(True, "grandchild terminated"), (False, "grandchild alive")],
)
def test_stop_sends_sigterm_to_the_group_or_to_the_child_alone(
    term_group: bool, grandchild_at_the_stop: str
) -> None:
    """The crawl child is stopped alone: it closes its browser itself (term_group=False)."""
    child = processes.spawn(
        [sys.executable, "-c", STOPS_ITS_OWN], stdout=subprocess.PIPE, text=True
    )
    grandchild = int(child.stdout.readline())  # type: ignore[union-attr]  # stdout=PIPE
    assert processes.stop(child, grace=10, term_group=term_group) == 0
    assert child.stdout.readline().strip() == grandchild_at_the_stop  # type: ignore[union-attr]  # spawned with stdout=PIPE
    assert _gone([grandchild])


def test_a_child_dies_with_its_sigkilled_parent() -> None:
    # parent -> child (spawned): killing the parent with SIGKILL must take the child along.
    parent_code = (
        "import subprocess, sys, time\n"
        "from core import processes\n"
        "c = processes.spawn([sys.executable, '-c', 'import time; "
        "from core.processes import die_with_parent; die_with_parent(); "
        "print(1, flush=True); time.sleep(120)'], stdout=subprocess.PIPE, text=True)\n"
        "c.stdout.readline(); print(c.pid, flush=True); time.sleep(120)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True
    )
    child_pid = int(parent.stdout.readline())  # type: ignore[union-attr]  # stdout=PIPE
    assert psutil.pid_exists(child_pid)
    parent.kill()
    parent.wait()
    assert _gone([child_pid])


def test_die_with_parent_is_a_no_op_for_a_command_run_from_a_shell(monkeypatch) -> None:
    monkeypatch.delenv(processes.PARENT_PID_ENV, raising=False)
    processes.die_with_parent()  # returns: no parent recorded, nothing armed


def test_a_child_whose_parent_is_already_gone_exits(monkeypatch) -> None:
    code = (
        "import os\nos.environ['OMNI_PARENT_PID'] = '999999999'\n"
        "from core.processes import die_with_parent\ndie_with_parent()\nprint('survived')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1 and "survived" not in result.stdout


def test_die_with_delivers_the_chosen_signal_when_the_parent_dies(tmp_path) -> None:
    """`die_with(parent, SIGTERM)`: the child's own SIGTERM handler runs (it can clean up)."""
    marker = tmp_path / "cleaned-up"
    child_code = (
        "import os, signal, sys, time\n"
        "from core import processes\n"
        "def handler(signum, frame):\n"
        f"    open({str(marker)!r}, 'w').write(str(signum)); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, handler)\n"
        "processes.die_with(os.getppid(), signal.SIGTERM)\n"
        "print(os.getpid(), flush=True); time.sleep(120)\n"
    )
    parent_code = (
        "import subprocess, sys, time\n"
        f"c = subprocess.Popen([sys.executable, '-c', {child_code!r}], stdout=subprocess.PIPE,"
        " text=True)\n"
        "print(c.stdout.readline().strip(), flush=True); time.sleep(120)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True
    )
    child_pid = int(parent.stdout.readline())  # type: ignore[union-attr]  # spawned with stdout=PIPE
    parent.kill()
    parent.wait()
    assert _gone([child_pid])
    assert marker.read_text() == str(int(signal.SIGTERM))

"""`python -m workers ARGS`: dramatiq's own CLI (`dramatiq ARGS`), in a process that dies with
the parent that spawned it (`omni worker`) and whose forked worker processes die with it.
See core/processes.py."""

from __future__ import annotations

import sys

from dramatiq.cli import main as dramatiq_main

from core.processes import die_with_parent, die_with_parent_after_fork

if __name__ == "__main__":
    die_with_parent()
    die_with_parent_after_fork()
    sys.exit(dramatiq_main())

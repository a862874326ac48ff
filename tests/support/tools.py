"""The house's checking tools (ruff, mypy), run on the checkout as the suite runs them."""

from __future__ import annotations

import subprocess
import sys

from tests.support.paths import REPO


def run_tool(module: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """`python -m <module> <args>` in the checkout; its output and exit status."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )

"""The layer contract (pyproject.toml [tool.importlinter]; docs/architecture.md): interfaces,
then workers, then the crawl (pipelines, crawlers), then db, then content, then core. Imports
point down only; workers/ has no cycles; content/ and core/ reach no database or network client."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_imports_point_down_only() -> None:
    # This interpreter's import-linter (its `lint-imports` script), on this checkout.
    command = [
        sys.executable,
        "-c",
        "from importlinter.cli import lint_imports_command as c; c()",
        "--no-cache",
    ]
    result = subprocess.run(
        command, check=False, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
    assert f"{len(contracts)} kept, 0 broken" in result.stdout

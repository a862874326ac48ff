"""No module reads the settings at import: every project module imports in a fresh interpreter
whose `core.config.get_settings` raises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO

PACKAGES = ("core", "interfaces", "db", "schemas", "crawlers", "pipelines", "workers", "dashboard")

_IMPORT_ALL = """
import importlib, pkgutil, sys
import core.config

def refuse():
    raise RuntimeError("get_settings() called at import time")

core.config.get_settings = refuse
failed = []
for package in sys.argv[1].split(","):
    root = importlib.import_module(package)
    names = [package] + [m.name for m in pkgutil.walk_packages(root.__path__, package + ".")]
    for name in names:
        if name in sys.argv[2].split(","):
            continue
        try:
            importlib.import_module(name)
        except Exception as exc:
            failed.append(f"{name}: {type(exc).__name__}: {exc}")
print("\\n".join(failed), end="")
"""


def _import_all(
    packages: tuple[str, ...],
    excluded: frozenset[str] = frozenset(),
    extra_path: Path | None = None,
) -> list[str]:
    """The modules that failed to import, each with its error."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(extra_path or ""), str(REPO)])),
    }
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL, ",".join(packages), ",".join(excluded)],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\n") if result.stdout.strip() else []


def test_every_module_imports_without_reading_the_settings() -> None:
    assert _import_all(PACKAGES) == []


def test_a_module_that_reads_the_settings_at_import_is_caught(tmp_path: Path) -> None:
    package = tmp_path / "eager"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "lazy.py").write_text(
        "from core.config import get_settings\n\ndef later():\n    return get_settings()\n"
    )
    (package / "reads.py").write_text(
        "from core.config import get_settings\n\nLIMIT = get_settings().worker_max_retries\n"
    )
    assert _import_all(("eager",), extra_path=tmp_path) == [
        "eager.reads: RuntimeError: get_settings() called at import time"
    ]

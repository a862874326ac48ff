"""The house style, kept by tools (docs/contributing.md): ruff's chosen rule set (pyproject.toml
[tool.ruff.lint]) with the 100-character line, and ruff's formatter."""

from __future__ import annotations

import pytest

from tests.support.tools import run_tool


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff(command: list[str]) -> None:
    result = run_tool("ruff", *command, ".", timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]

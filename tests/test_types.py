"""The type checker (docs/contributing.md): mypy on the packages with the settings of
pyproject.toml [tool.mypy] (every function annotated, untyped bodies checked, no unused
ignore), and every `# type: ignore` names its error code and says why on its line."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.support.paths import REPO, TEST_DATA_DIR
from tests.support.tools import run_tool

# The tree's own cache, next to the test servers' data: a warm run takes seconds, a cold one
# (CI) longer (docs/contributing.md).
CACHE = TEST_DATA_DIR / "mypy-cache"

# `# type: ignore[code, ...]  # why`: the codes, then a comment that says why.
IGNORE = re.compile(r"#\s*type:\s*ignore\b")
GOOD_IGNORE = re.compile(r"#\s*type:\s*ignore\[[a-z0-9-]+(?:,\s*[a-z0-9-]+)*\]\s+#\s*\S")


def unexplained_ignores(text: str) -> list[int]:
    """The line numbers of `type: ignore` comments without an error code and a reason."""
    return [
        n
        for n, line in enumerate(text.splitlines(), 1)
        if IGNORE.search(line) and not GOOD_IGNORE.search(line)
    ]


@pytest.mark.timeout(900)
def test_mypy_finds_no_error_in_the_packages() -> None:
    result = run_tool("mypy", "--cache-dir", str(CACHE), timeout=880)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


@pytest.mark.parametrize(
    ("line", "explained"),
    [
        ("x = f()  # type: ignore[attr-defined]  # set by Scrapy", True),
        ("x = f()  # type: ignore[arg-type, union-attr]  # the stub is wrong", True),
        ("x = f()  # type: ignore", False),
        ("x = f()  # type: ignore[attr-defined]", False),
        ("x = f()  # type: ignore  # no code", False),
        ("x = f()  # a comment", True),
    ],
)
def test_an_ignore_needs_its_code_and_a_reason(line: str, explained: bool) -> None:
    assert (unexplained_ignores(line) == []) == explained


def test_every_type_ignore_in_the_repository_has_a_code_and_a_reason() -> None:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    found = {
        path: lines
        for path in files
        if path != "tests/test_types.py"  # its cases above are such lines, on purpose
        and (REPO / path).exists()
        and (lines := unexplained_ignores((REPO / path).read_text(encoding="utf-8")))
    }
    assert found == {}, "a `# type: ignore[code]  # why` on each of these lines"

"""The test tree mirrors the source tree (docs/contributing.md): `tests/<package>/...` exists
only for a source folder of that path, and a test file named after a module
(`test_<module>.py`) sits in the folder that mirrors that module's. Two folders are not a
source package: `ops/` (the whole system) and `security/` (attacks across layers); `support/`
holds the fixtures and test servers."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
NOT_MIRRORED = {"ops", "security", "support"}


def _test_folders() -> list[Path]:
    return sorted(
        p.relative_to(TESTS)
        for p in TESTS.rglob("*")
        if p.is_dir()
        and p.name != "__pycache__"
        and p.relative_to(TESTS).parts[0] not in NOT_MIRRORED
    )


def _source_modules() -> dict[str, list[Path]]:
    """Module name -> the source folders that hold a module (or package) of that name."""
    found: dict[str, list[Path]] = {}
    for folder in {p.parts[0] for p in _test_folders()}:
        for path in (REPO / folder).rglob("*.py"):
            rel = path.relative_to(REPO)
            if path.name == "__init__.py":  # a package: tested beside it or inside its mirror
                found.setdefault(rel.parent.name, []).extend([rel.parent.parent, rel.parent])
            else:
                found.setdefault(path.stem, []).append(rel.parent)
    return found


def test_every_test_folder_mirrors_a_source_folder() -> None:
    missing = [str(p) for p in _test_folders() if not (REPO / p).is_dir()]
    assert missing == [], f"test folders with no source folder of that path: {missing}"


def test_a_test_named_after_a_module_sits_in_that_modules_folder() -> None:
    modules = _source_modules()
    misplaced = []
    for test in sorted(TESTS.rglob("test_*.py")):
        rel = test.relative_to(TESTS)
        if rel.parts[0] in NOT_MIRRORED or len(rel.parts) == 1:
            continue
        homes = modules.get(test.stem.removeprefix("test_"), [])
        if homes and rel.parent not in homes:
            misplaced.append(f"{rel} (the module is in {', '.join(map(str, homes))})")
    assert misplaced == [], "tests away from their module's folder:\n" + "\n".join(misplaced)

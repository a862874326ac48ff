"""db/jobs.py owns every status write of content_refresh_jobs (issue 23): a scan of the source
finds no other INSERT or UPDATE of that table that sets `status`."""

from __future__ import annotations

import re

from tests.support.paths import REPO

PACKAGES = ("omni", "db", "pipelines", "crawlers", "workers", "dashboard", "schemas")
OWNER = REPO / "db" / "jobs.py"
# an UPDATE of the table up to its WHERE, or an INSERT's column list
WRITE = re.compile(
    r"(UPDATE\s+(?:public\.)?content_refresh_jobs\b.*?\bWHERE\b|"
    r"INSERT\s+INTO\s+(?:public\.)?content_refresh_jobs\s*\([^)]*\))",
    re.IGNORECASE | re.DOTALL,
)


def _sql_text(path) -> str:
    """The file with Python's adjacent string literals run together (SQL is split across
    lines as "UPDATE ... " "SET status = ...")."""
    return re.sub(r"\"\s*\n\s*f?\"", "", path.read_text())


def status_writers() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            for write in WRITE.findall(_sql_text(path)):
                if re.search(r"\bstatus\b", write, re.IGNORECASE) and path != OWNER:
                    found.append(f"{path.relative_to(REPO)}: {' '.join(write.split())[:120]}")
    return found


def test_only_db_jobs_writes_a_jobs_status() -> None:
    assert status_writers() == []


def test_the_scan_finds_the_owners_writes() -> None:
    # the scan sees through the string splits: every lifecycle write of db/jobs.py is found
    writes = [w for w in WRITE.findall(_sql_text(OWNER)) if re.search(r"\bstatus\b", w, re.I)]
    assert len(writes) >= 9  # create, start, complete, fail, release, reset, siblings x3, expire

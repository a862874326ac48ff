"""How long the pgvector self-test takes: natively, under `qemu-x86_64 -cpu Haswell` (x86-64 with
qemu-user only), and the cached check `omni services up` does once it has passed.

    .venv/bin/python bench/pg_selftest.py [rounds]

Rounds alternate native / emulated, so both see the same machine load; medians are printed.
"""

from __future__ import annotations

import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from interfaces import pg_selftest
from interfaces.pg_build import postgres_bin, system_user


def main(rounds: int = 3) -> None:
    bin_dir, run_as = postgres_bin(), system_user()
    qemu = shutil.which("qemu-x86_64") if platform.machine() == "x86_64" else None
    native: list[float] = []
    emulated: list[float] = []
    for _ in range(rounds):
        outcome = pg_selftest.run(bin_dir, run_as=run_as)
        assert outcome.ok, outcome.problem
        native.append(outcome.seconds)
        if qemu:
            outcome = pg_selftest.run(
                bin_dir, run_as=run_as, wrapper=[qemu, "-cpu", "Haswell"], timeout=300
            )
            assert outcome.ok, outcome.problem
            emulated.append(outcome.seconds)
    with tempfile.TemporaryDirectory() as state:
        pg_selftest.ensure(bin_dir, Path(state), run_as=run_as)
        started = time.perf_counter()
        for _ in range(100):
            pg_selftest.ensure(bin_dir, Path(state), run_as=run_as)
        cached_ms = (time.perf_counter() - started) * 1000 / 100

    print(f"rounds: {rounds}")
    print(
        f"self-test, native:            median {statistics.median(native):.2f} s "
        f"(min {min(native):.2f}, max {max(native):.2f})"
    )
    if emulated:
        print(
            f"self-test, qemu -cpu Haswell: median {statistics.median(emulated):.2f} s "
            f"(min {min(emulated):.2f}, max {max(emulated):.2f}); "
            f"{statistics.median(emulated) / statistics.median(native):.1f}x native"
        )
    print(f"cached check (marker matches): {cached_ms:.3f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)

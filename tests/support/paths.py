"""Where things are: the checkout, its virtualenv's `omni`, and the tests' data dir."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
OMNI = REPO / ".venv" / "bin" / "omni"
# OMNI_TEST_DATA_DIR: another data dir (its own embedded Postgres), e.g. for a suite run by a test.
TEST_DATA_DIR = Path(os.environ.get("OMNI_TEST_DATA_DIR") or REPO / ".omni-test")

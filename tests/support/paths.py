"""Where things are: the checkout, its virtualenv's `omni`, and the tests' data dir."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
OMNI = REPO / ".venv" / "bin" / "omni"
TEST_DATA_DIR = REPO / ".omni-test"

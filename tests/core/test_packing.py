"""core/packing.py: consecutive runs within an item count and a total cost (a table)."""

from __future__ import annotations

import pytest

from core.packing import consecutive_runs


@pytest.mark.parametrize(
    ("costs", "max_items", "max_total", "runs"),
    [
        ([], 3, 10, []),
        ([4, 4, 4], 3, 10, [[0, 1], [2]]),
        ([4, 4, 4], 2, 100, [[0, 1], [2]]),
        ([2, 50, 2], 3, 10, [[0], [1], [2]]),  # an item over the total: a run of its own
        ([0, 0, 5], 5, 5, [[0, 1, 2]]),
    ],
)
def test_consecutive_runs(costs, max_items, max_total, runs) -> None:
    assert consecutive_runs(costs, max_items, max_total) == runs

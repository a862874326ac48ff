"""Consecutive packing: items kept in order, each run filled until the next item would break a
limit (the embedding requests of workers/request_plan.py, the embed runs of db/embed_sizing.py)."""

from __future__ import annotations

from collections.abc import Sequence


def consecutive_runs(costs: Sequence[int], max_items: int, max_total: int) -> list[list[int]]:
    """The items' indexes in runs of at most `max_items` items and `max_total` cost; an item
    costing more than `max_total` alone is a run of its own."""
    runs: list[list[int]] = []
    run: list[int] = []
    total = 0
    for index, cost in enumerate(costs):
        if run and (len(run) >= max_items or total + cost > max_total):
            runs.append(run)
            run, total = [], 0
        run.append(index)
        total += cost
    if run:
        runs.append(run)
    return runs

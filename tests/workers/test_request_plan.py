"""plan_batches: never breaks a limit, keeps order, and uses the minimum number of requests."""

from __future__ import annotations

import math
import random
from functools import cache

import pytest

from workers.request_plan import lower_bound, plan_batches

L = dict(max_inputs=2048, max_tokens=300_000, max_tokens_per_input=8191)


def _check_limits(counts, batches, max_inputs, max_tokens):
    assert [i for b in batches for i in b] == list(range(len(counts)))  # all, once, in order
    for batch in batches:
        assert 1 <= len(batch) <= max_inputs
        assert sum(counts[i] for i in batch) <= max_tokens


def _optimal_in_order(counts, max_inputs, max_tokens) -> int:
    """Exact minimum over all order-preserving plans (dynamic programming)."""

    @cache
    def best(start: int) -> int:
        if start == len(counts):
            return 0
        result, tokens = math.inf, 0
        for end in range(start, min(len(counts), start + max_inputs)):
            tokens += counts[end]
            if tokens > max_tokens:
                break
            result = min(result, 1 + best(end + 1))
        return result

    return best(0)


@pytest.mark.parametrize(
    "counts,limits,expected",
    [
        ([], L, 0),
        ([1], L, 1),
        ([500] * 10_000, L, 17),  # tokens bind: 5,000,000 / 300,000 -> 17
        ([10] * 10_000, L, 5),  # inputs bind: 10,000 / 2,048 -> 5
        ([8191] * 37, L, 2),  # 36 inputs of 8,191 fit in 300,000
        ([8191] * 36, L, 1),
        ([2048] * 2048, L, 15),  # 146 per request; bound 14 is unreachable
        ([1] * 2048, L, 1),
        ([1] * 2049, L, 2),
        (
            [150_000, 150_000, 1],
            dict(max_inputs=10, max_tokens=300_000, max_tokens_per_input=300_000),
            2,
        ),
        ([3, 3, 3, 3], dict(max_inputs=2, max_tokens=100, max_tokens_per_input=100), 2),
        ([60, 50, 50, 60], dict(max_inputs=10, max_tokens=100, max_tokens_per_input=100), 3),
    ],
)
def test_request_counts(counts, limits, expected):
    batches = plan_batches(counts, **limits)
    _check_limits(counts, batches, limits["max_inputs"], limits["max_tokens"])
    assert len(batches) == expected
    assert len(batches) >= lower_bound(counts, limits["max_inputs"], limits["max_tokens"])


@pytest.mark.parametrize("seed", range(30))
def test_greedy_equals_the_optimal_order_preserving_plan(seed):
    rng = random.Random(seed)
    max_inputs, max_tokens = rng.randint(1, 6), rng.randint(10, 60)
    counts = [rng.randint(0, max_tokens) for _ in range(rng.randint(0, 40))]
    batches = plan_batches(counts, max_inputs, max_tokens, max_tokens)
    _check_limits(counts, batches, max_inputs, max_tokens)
    assert len(batches) == _optimal_in_order(counts, max_inputs, max_tokens)


@pytest.mark.parametrize("mean", [50, 300, 500, 1000, 4000])
def test_realistic_chunks_within_5_percent_of_the_lower_bound(mean):
    rng = random.Random(mean)
    counts = [max(1, min(8191, int(rng.gauss(mean, mean / 4)))) for _ in range(10_000)]
    batches = plan_batches(counts)
    _check_limits(counts, batches, 2048, 300_000)
    assert len(batches) <= math.ceil(1.05 * lower_bound(counts))


@pytest.mark.parametrize(
    "counts,message",
    [
        ([8192], "8192 tokens"),
        ([5, -1], "negative"),
    ],
)
def test_inputs_over_the_limits_are_refused(counts, message):
    with pytest.raises(ValueError, match=message):
        plan_batches(counts)

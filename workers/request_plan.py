"""Plan embedding requests: the fewest requests the API's limits allow, inputs kept in order.

Greedy "fill each request until the next input would break a limit" is optimal among
order-preserving plans: both limits are hereditary (a sub-run of a feasible request is
feasible), so by exchange any optimal plan's k-th request ends no later than greedy's.
Against any plan at all it needs at most max(ceil(n / max_inputs), ceil(total / max_tokens))
requests plus the slack of one input per request (<= 8,191 of 300,000 tokens, under 3%).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from core.packing import consecutive_runs

MAX_INPUTS = 2048
MAX_TOKENS = 300_000
MAX_TOKENS_PER_INPUT = 8191


def plan_batches(
    token_counts: Sequence[int],
    max_inputs: int = MAX_INPUTS,
    max_tokens: int = MAX_TOKENS,
    max_tokens_per_input: int = MAX_TOKENS_PER_INPUT,
) -> list[list[int]]:
    """Split input indices into consecutive requests within the limits."""
    if max_inputs < 1 or max_tokens < 1:
        raise ValueError("limits must be positive")
    for index, count in enumerate(token_counts):
        if count < 0:
            raise ValueError(f"input {index} has a negative token count")
        if count > max_tokens_per_input or count > max_tokens:
            raise ValueError(
                f"input {index} has {count} tokens; the limit per input is "
                f"{min(max_tokens_per_input, max_tokens)}"
            )
    return consecutive_runs(token_counts, max_inputs, max_tokens)


def lower_bound(
    token_counts: Sequence[int], max_inputs: int = MAX_INPUTS, max_tokens: int = MAX_TOKENS
) -> int:
    """No plan, in any order, can use fewer requests than this."""
    if not token_counts:
        return 0
    return max(math.ceil(len(token_counts) / max_inputs), math.ceil(sum(token_counts) / max_tokens))

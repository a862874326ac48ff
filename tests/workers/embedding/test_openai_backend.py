"""The embedding API's retry pauses (pure)."""

from __future__ import annotations

import pytest

from workers.embedding.openai_backend import MAX_SLEEP, _delay


@pytest.mark.parametrize("attempt, retry_after, base, low, high", [
    (1, None, 0.5, 0.25, 0.5),          # the first pause: base, with up to half jittered off
    (3, None, 0.5, 1.0, 2.0),           # doubling
    (3, None, 0.02, 0.04, 0.08),        # OMNI_OPENAI_RETRY_BACKOFF scales it (the tests' 0.02)
    (12, None, 0.5, MAX_SLEEP / 2, MAX_SLEEP),   # capped
    (1, 7.0, 0.5, 7.0, 7.0),            # Retry-After wins over the back-off
    (1, 0.0, 0.5, 0.05, 0.05),          # ... but never a busy loop
    (1, 999.0, 0.5, MAX_SLEEP, MAX_SLEEP),
])
def test_delay(attempt: int, retry_after: float | None, base: float, low: float,
               high: float) -> None:
    for _ in range(20):
        assert low <= _delay(attempt, retry_after, base) <= high

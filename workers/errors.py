"""How a failure is retried: transient errors are retried with backoff, permanent ones are not."""

from __future__ import annotations


class TransientError(Exception):
    """Worth retrying: network trouble, 429, 5xx, a lost database connection."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """Retrying cannot help: bad input, 4xx other than 429, a missing row."""

"""A download failure -> the reason stored in `scraped_pages.error_message` (None: not a page
failure, e.g. a robots.txt refusal, which is counted but not stored)."""

from __future__ import annotations

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from twisted.internet import defer
from twisted.internet import error as twisted_errors

NOT_STORED_MARKERS = ("robots.txt", "crawler trap", "answered 304")


def describe_failure(exc: BaseException | None, max_bytes: int) -> str | None:
    text = " ".join(str(exc).split())
    if isinstance(exc, IgnoreRequest):
        if any(marker in text for marker in NOT_STORED_MARKERS):
            return None
        if "max redirections" in text:
            return "redirect loop: too many redirects"
        return text or "request ignored"
    if isinstance(exc, (DownloadCancelledError, defer.CancelledError)) or "max size" in text:
        return f"too large: more than {max_bytes} bytes"
    if isinstance(
        exc, (DownloadTimeoutError, twisted_errors.TimeoutError, TimeoutError, defer.TimeoutError)
    ):
        return f"timeout: {text}" if text else "timeout"
    if isinstance(exc, (CannotResolveHostError, twisted_errors.DNSLookupError)):
        return f"DNS lookup failed: {text}"
    if isinstance(
        exc,
        (
            DownloadConnectionRefusedError,
            twisted_errors.ConnectionRefusedError,
            ConnectionRefusedError,
        ),
    ):
        return "connection refused"
    if isinstance(exc, ResponseDataLossError):
        return f"connection lost: {text}"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

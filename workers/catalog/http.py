"""HTTP for the shop APIs: JSON pages with pagination, back-off on 429 (honouring
Retry-After) and 5xx, and errors the job records. Credentials travel only in the
Authorization header (HTTP Basic), never in URLs, logs, errors or job rows."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime
from typing import Any, Self
from urllib.parse import urlsplit

import httpx

from workers.errors import PermanentError, TransientError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # per request, for 429 / 5xx / connection errors
MAX_WAIT_S = 30.0  # a longer Retry-After ends the job for a later retry instead
MAX_PAGES = 1000  # a pagination loop bound (100,000+ products)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (pure)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def backoff(attempt: int, retry_after: float | None) -> float:
    """Seconds to wait before attempt `attempt + 1` (pure): the server's word, else 0.5 s
    doubling."""
    return retry_after if retry_after is not None else min(8.0, 0.5 * 2**attempt)


class ApiClient:
    def __init__(
        self,
        base_url: str,
        platform: str,
        auth: tuple[str, str] | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str = "OmniIngestBot",
    ) -> None:
        self.platform = platform
        self.base_url = base_url.rstrip("/")
        self.sleep = sleep
        self.requests = 0
        self.retries = 0
        self.waited_s = 0.0
        self._client = httpx.Client(
            base_url=self.base_url,
            auth=auth,
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": user_agent, "Accept": "application/json"},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, path: str, params: dict[str, Any]) -> httpx.Response:
        for attempt in range(MAX_ATTEMPTS):
            self.requests += 1
            try:
                response = self._client.get(path, params=params)
            except httpx.TransportError as exc:
                if attempt + 1 == MAX_ATTEMPTS:
                    raise TransientError(
                        f"{self.platform} API unreachable: {type(exc).__name__}"
                    ) from None
                self._wait(backoff(attempt, None))
                continue
            status = response.status_code
            if status == 429 or status >= 500:
                wait = backoff(attempt, retry_after_seconds(response.headers.get("Retry-After")))
                if attempt + 1 == MAX_ATTEMPTS or wait > MAX_WAIT_S:
                    raise TransientError(
                        f"{self.platform} API answered HTTP {status} "
                        f"{MAX_ATTEMPTS if wait <= MAX_WAIT_S else attempt + 1} "
                        "time(s)",
                        retry_after=wait,
                    )
                log.info("%s API: HTTP %d, waiting %.1f s", self.platform, status, wait)
                self._wait(wait)
                continue
            if status in (401, 403):
                raise PermanentError(
                    f"{self.platform} API refused the credentials (HTTP {status}{_code(response)})"
                )
            if status >= 300:
                raise PermanentError(
                    f"{self.platform} API answered HTTP {status} for "
                    f"{urlsplit(str(response.url)).path}{_code(response)}"
                )
            return response
        raise AssertionError("unreachable")

    def _wait(self, seconds: float) -> None:
        self.retries += 1
        self.waited_s += seconds
        self.sleep(seconds)

    def paged(
        self, path: str, params: dict[str, Any], per_page: int, key: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of a paged list: `page=1, 2, ...` until the last page (WooCommerce's
        X-WP-TotalPages, or a short / empty page)."""
        size_param = "per_page" if key is None else "limit"
        for page in range(1, MAX_PAGES + 1):
            response = self.get(path, {**params, size_param: per_page, "page": page})
            items = _json(response, self.platform)
            if key is not None:
                items = items.get(key) if isinstance(items, dict) else None
            if not isinstance(items, list):
                raise PermanentError(f"{self.platform} API: {path} did not answer with a list")
            yield from (i for i in items if isinstance(i, dict) and "id" in i)
            total = response.headers.get("X-WP-TotalPages")
            if (total is not None and total.isdigit() and page >= int(total)) or len(
                items
            ) < per_page:
                return
        raise PermanentError(f"{self.platform} API: more than {MAX_PAGES} pages of {path}")


def _json(response: httpx.Response, platform: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise PermanentError(
            f"{platform} API answered with something that is not JSON "
            f"({response.headers.get('Content-Type', 'no Content-Type')})"
        ) from None


def _code(response: httpx.Response) -> str:
    """The API's error code (e.g. woocommerce_rest_cannot_view), never its free text."""
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        return ""
    return f": {code}" if isinstance(code, str) and code.replace("_", "").isalnum() else ""

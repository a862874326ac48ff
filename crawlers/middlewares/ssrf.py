"""SSRF guard: refuse hosts that resolve to private, loopback, link-local or otherwise
non-public addresses, unless OMNI_ALLOW_PRIVATE_NETWORKS=1 (or the exact host:port is in
OMNI_ALLOWED_PRIVATE_HOSTS). The rule itself is `crawlers.address_policy`.

Checked on every request, redirects included, before it is sent (a clear `blocked: ...`
reason). The check does its own lookup; a DNS answer that changes before the connection is
made (DNS rebinding) is refused by `crawlers.resolver`, which checks the address the connection
uses. The browser's own requests go through the same rule in `crawlers.playwright_handler`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.httpobj import urlparse_cached

from crawlers.address_policy import AddressPolicy, blocked_address, resolve  # noqa: F401 - API

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request


class SsrfGuardMiddleware:
    def __init__(self, policy: AddressPolicy | None = None) -> None:
        self.policy = policy or AddressPolicy()
        self._verdicts: dict[tuple[str, int], str | None] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SsrfGuardMiddleware:
        policy = AddressPolicy.from_crawler_settings(crawler.settings)
        if policy.allow_private:
            raise NotConfigured("OMNI_ALLOW_PRIVATE_NETWORKS is set")
        return cls(policy)

    async def process_request(self, request: Request) -> None:
        parts = urlparse_cached(request)
        host = (parts.hostname or "").strip("[]")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key = (host, port)
        if key not in self._verdicts:
            self._verdicts[key] = await asyncio.to_thread(self._check, host, port)
        if (reason := self._verdicts[key]) is not None:
            raise IgnoreRequest(reason)

    def _check(self, host: str, port: int) -> str | None:
        reason = self.policy.check_host(host, port)
        if reason and reason.endswith("does not resolve"):
            return None  # unresolvable: the download itself fails with a DNS error
        return reason

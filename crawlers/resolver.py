"""The DNS resolver of the crawl: refuses non-public addresses at connection time.

`crawlers.middlewares.ssrf` checks a request's host before it is sent, with its own lookup. The
connection then resolves the name again, and a DNS answer that changes in between (DNS
rebinding) would slip past that check. This resolver checks the address the connection will
actually use. A name whose answer is a non-public address does not resolve, so the request
fails with a DNS error and nothing is sent. With OMNI_ALLOW_PRIVATE_NETWORKS=1 it is Scrapy's
default caching resolver.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.resolver import CachingThreadedResolver
from twisted.internet.error import DNSLookupError

from crawlers.address_policy import AddressPolicy, blocked_address

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scrapy.crawler import Crawler
    from twisted.internet.base import ReactorBase
    from twisted.internet.defer import Deferred

logger = logging.getLogger(__name__)


class PublicAddressResolver(CachingThreadedResolver):
    allow_private = False
    allowed_names: frozenset[str] = frozenset()  # hosts of OMNI_ALLOWED_PRIVATE_HOSTS

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> PublicAddressResolver:
        resolver = super().from_crawler(crawler, reactor)
        policy = AddressPolicy.from_crawler_settings(crawler.settings)
        resolver.allow_private = policy.allow_private
        # The port of an allowed host:port was checked by the SSRF middleware already.
        resolver.allowed_names = frozenset(
            h.rsplit(":", 1)[0].strip("[]") for h in policy.allowed_hosts
        )
        return resolver

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        deferred = super().getHostByName(name, timeout)
        if not self.allow_private and name.lower() not in self.allowed_names:
            deferred.addCallback(self._refuse_non_public, name)
        return deferred

    @staticmethod
    def _refuse_non_public(address: str, name: str) -> str:
        if blocked_address(address):
            logger.warning("blocked: %s resolves to non-public address %s", name, address)
            raise DNSLookupError(f"blocked: {name} resolves to non-public address {address}")
        return address

"""The crawl's DNS resolver takes its policy from the crawler's settings (crawlers/resolver.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from twisted.internet.error import DNSLookupError

from crawlers.resolver import PublicAddressResolver
from tests.support.crawler import make_crawler


@pytest.mark.parametrize(
    ("cmdline", "allow_private", "allowed_names"),
    [
        ({"OMNI_ALLOW_PRIVATE_NETWORKS": False}, False, frozenset()),
        ({"OMNI_ALLOW_PRIVATE_NETWORKS": True}, True, frozenset()),
        (
            {
                "OMNI_ALLOW_PRIVATE_NETWORKS": False,
                "OMNI_ALLOWED_PRIVATE_HOSTS": "Intranet.test:8080,[::1]:81",
            },
            False,
            frozenset({"intranet.test", "::1"}),
        ),
    ],
)
def test_resolver_policy_comes_from_the_crawler_settings(cmdline, allow_private, allowed_names):
    resolver = PublicAddressResolver.from_crawler(make_crawler(**cmdline), SimpleNamespace())
    assert (resolver.allow_private, resolver.allowed_names) == (allow_private, allowed_names)


@pytest.mark.parametrize(
    ("address", "refused"),
    [("127.0.0.1", True), ("10.0.0.8", True), ("169.254.169.254", True), ("93.184.215.14", False)],
)
def test_non_public_answers_are_refused(address, refused):
    if refused:
        with pytest.raises(DNSLookupError, match="non-public address"):
            PublicAddressResolver._refuse_non_public(address, "shop.example")
    else:
        assert PublicAddressResolver._refuse_non_public(address, "shop.example") == address

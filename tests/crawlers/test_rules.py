"""Table-driven tests of the pure crawl rules."""

from __future__ import annotations

import gzip

import pytest
from scrapy.exceptions import DownloadCancelledError, DownloadTimeoutError, IgnoreRequest
from twisted.internet.error import ConnectionRefusedError, DNSLookupError

from crawlers.failures import describe_failure
from crawlers.middlewares.render import looks_like_app_shell
from crawlers.middlewares.ssrf import blocked_address
from crawlers.sitemaps import parse_robots, parse_sitemap
from crawlers.urls import (
    canonicalize,
    in_site,
    is_tracking_param,
    pattern_key,
    resource_kind,
    start_url,
)


@pytest.mark.parametrize(
    "url, expected",
    [
        ("HTTP://Example.COM/a#frag", "http://example.com/a"),
        ("http://example.com:80/", "http://example.com/"),
        ("https://example.com:443/x", "https://example.com/x"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("http://example.com", "http://example.com/"),
        ("http://example.com/p?b=2&a=1", "http://example.com/p?a=1&b=2"),
        ("http://example.com/p?utm_source=x&utm_campaign=y&id=3", "http://example.com/p?id=3"),
        ("http://example.com/p?gclid=1&fbclid=2&msclkid=3", "http://example.com/p"),
        ("http://example.com/p;jsessionid=ABC123?x=1", "http://example.com/p?x=1"),
        ("http://example.com/p?PHPSESSID=abc&q=s", "http://example.com/p?q=s"),
        ("http://example.com/a/./b/../c", "http://example.com/a/c"),
        ("http://example.com/dir/", "http://example.com/dir/"),
        ("http://example.com/a b", "http://example.com/a%20b"),
        ("http://EXAMPLE.com./x", "http://example.com/x"),
        ("mailto:someone@example.com", None),
        ("javascript:void(0)", None),
        ("ftp://example.com/file", None),
        ("", None),
    ],
)
def test_canonicalize(url, expected):
    assert canonicalize(url) == expected


@pytest.mark.parametrize(
    "href, base, expected",
    [
        ("/x", "http://a.com/dir/page", "http://a.com/x"),
        ("y", "http://a.com/dir/page", "http://a.com/dir/y"),
        ("../y", "http://a.com/dir/sub/page", "http://a.com/dir/y"),
        ("//b.com/z", "https://a.com/", "https://b.com/z"),
        ("?q=1#top", "http://a.com/p", "http://a.com/p?q=1"),
    ],
)
def test_canonicalize_relative(href, base, expected):
    assert canonicalize(href, base) == expected


@pytest.mark.parametrize(
    "name, tracking",
    [
        ("utm_source", True),
        ("UTM_Medium", True),
        ("gclid", True),
        ("fbclid", True),
        ("_ga", True),
        ("id", False),
        ("page", False),
        ("q", False),
        ("utmost", False),
    ],
)
def test_tracking_params(name, tracking):
    assert is_tracking_param(name) is tracking


@pytest.mark.parametrize(
    "url, kind",
    [
        ("http://a.com/", "page"),
        ("http://a.com/about", "page"),
        ("http://a.com/x.html", "page"),
        ("http://a.com/x.php?id=1", "page"),
        ("http://a.com/doc.pdf", "document"),
        ("http://a.com/sheet.XLSX", "document"),
        ("http://a.com/logo.png", "skip"),
        ("http://a.com/pack.tar.gz", "skip"),
        ("http://a.com/app.js", "skip"),
        ("http://a.com/v.mp4", "skip"),
    ],
)
def test_resource_kind(url, kind):
    assert resource_kind(url) == kind


@pytest.mark.parametrize(
    "url, hosts, inside",
    [
        ("http://shop.com/x", ("shop.com",), True),
        ("http://www.shop.com/x", ("shop.com",), True),
        ("http://shop.com/x", ("www.shop.com",), True),
        ("http://blog.shop.com/x", ("shop.com",), False),
        ("http://blog.shop.com/x", ("shop.com", "blog.shop.com"), True),
        ("http://127.0.0.1:8931/", ("127.0.0.1:8931",), True),
        ("http://127.0.0.1:8932/", ("127.0.0.1:8931",), False),
        ("https://shop.com:443/", ("shop.com",), True),
    ],
)
def test_in_site(url, hosts, inside):
    assert in_site(url, hosts) is inside


@pytest.mark.parametrize(
    "a, b, same",
    [
        ("http://a.com/calendar/2024/05", "http://a.com/calendar/2031/11", True),
        ("http://a.com/cal?month=2024-01", "http://a.com/cal?month=2099-12", True),
        ("http://a.com/s/0123456789abcdef0123/p", "http://a.com/s/fedcba98765432100000/p", True),
        ("http://a.com/products/1", "http://a.com/blog/1", False),
        ("http://a.com/cal?month=1", "http://a.com/cal?month=1&view=w", False),
    ],
)
def test_pattern_key(a, b, same):
    assert (pattern_key(a) == pattern_key(b)) is same


@pytest.mark.parametrize(
    "given, url, fallback",
    [
        ("127.0.0.1:8931", "http://127.0.0.1:8931/", False),
        ("localhost:3000", "http://localhost:3000/", False),
        ("[::1]:8080", "http://[::1]:8080/", False),
        ("shop.example.com", "https://shop.example.com/", True),
        ("http://shop.example.com/start?utm_source=x", "http://shop.example.com/start", False),
    ],
)
def test_start_url(given, url, fallback):
    assert start_url(given) == (url, fallback)


def test_robots_sitemaps_and_crawl_delay():
    body = b"User-agent: *\nDisallow: /private/\nCrawl-delay: 2.5\nSitemap: http://a.com/s.xml\n"
    info = parse_robots(body, "OmniIngestBot/0.1")
    assert info.sitemaps == ["http://a.com/s.xml"] and info.crawl_delay == 2.5
    assert parse_robots(b"", "x").crawl_delay is None


URLSET = (
    b"<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
    b"<url><loc>http://a.com/1</loc><lastmod>2024-01-01</lastmod></url>"
    b"<url><loc>http://a.com/2</loc></url></urlset>"
)
INDEX = (
    b"<?xml version='1.0'?><sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
    b"<sitemap><loc>http://a.com/s1.xml.gz</loc></sitemap></sitemapindex>"
)


@pytest.mark.parametrize(
    "body, kind, urls",
    [
        (URLSET, "urlset", ["http://a.com/1", "http://a.com/2"]),
        (gzip.compress(URLSET), "urlset", ["http://a.com/1", "http://a.com/2"]),
        (INDEX, "sitemapindex", ["http://a.com/s1.xml.gz"]),
        (b"<html><body>not a sitemap</body></html>", "invalid", []),
        (b"\x1f\x8bcorrupt", "invalid", []),
        (b"User-agent: *", "invalid", []),
    ],
)
def test_parse_sitemap(body, kind, urls):
    content = parse_sitemap(body)
    assert (content.kind, content.urls) == (kind, urls)


@pytest.mark.parametrize(
    "address, blocked",
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("192.168.0.10", True),
        ("172.16.5.5", True),
        ("169.254.169.254", True),
        ("::1", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("0.0.0.0", True),
        ("::ffff:127.0.0.1", True),
        ("100.64.0.1", True),
        ("93.184.216.34", False),
        ("2606:4700::1111", False),
    ],
)
def test_ssrf_blocked_addresses(address, blocked):
    assert blocked_address(address) is blocked


@pytest.mark.parametrize(
    "body, shell",
    [
        (b"<html><body><div id=root></div><script src=app.js></script></body></html>", True),
        (
            b"<html><body><div id=app></div><script>var x = '"
            + b"y" * 5000
            + b"';</script></body></html>",
            True,
        ),
        (b"<html><body><p>" + b"Real text. " * 40 + b"</p><script>1</script></body></html>", False),
        (b"<html><body><p>Short page without scripts</p></body></html>", False),
        # Discourse: the app's root, and the topic for readers without JavaScript
        (
            b"<html><body><div id=app></div><script src=app.js></script><noscript><p>"
            + b"A post in the topic. " * 20
            + b"</p></noscript></body></html>",
            False,
        ),
        (
            b"<html><body><div id=app></div><script src=app.js></script>"
            b"<noscript>Please enable JavaScript.</noscript></body></html>",
            True,
        ),
    ],
)
def test_app_shell_detection(body, shell):
    assert looks_like_app_shell(body) is shell


def test_failure_reasons():

    assert (
        describe_failure(IgnoreRequest("max redirections reached"), 10)
        == "redirect loop: too many redirects"
    )
    assert describe_failure(IgnoreRequest("Forbidden by robots.txt"), 10) is None
    assert describe_failure(DownloadCancelledError("x"), 10) == "too large: more than 10 bytes"
    assert describe_failure(DownloadTimeoutError("took too long"), 10).startswith("timeout")
    assert describe_failure(DNSLookupError("nope"), 10).startswith("DNS lookup failed")
    assert describe_failure(ConnectionRefusedError(), 10) == "connection refused"
    assert describe_failure(
        IgnoreRequest("blocked: h resolves to non-public address 10.0.0.1"), 10
    ).startswith("blocked:")

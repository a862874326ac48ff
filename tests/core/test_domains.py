"""normalize_domain: one canonical form for a domain name or URL, and clear errors."""

from __future__ import annotations

import pytest

from core.domains import InvalidDomain, normalize_domain


@pytest.mark.parametrize(
    "value,expected",
    [
        ("example.com", "example.com"),
        ("  example.com  ", "example.com"),
        ("Example.COM", "example.com"),
        ("https://Shop.Example.com:443/x?y=1", "shop.example.com"),
        ("http://example.com:80/", "example.com"),
        ("https://example.com:80", "example.com:80"),
        ("http://example.com:443", "example.com:443"),
        ("http://example.com:8080/a/b", "example.com:8080"),
        ("WWW.Example.com", "www.example.com"),
        ("https://www.example.com/", "www.example.com"),
        ("example.com.", "example.com"),
        ("127.0.0.1:8931", "127.0.0.1:8931"),
        ("http://127.0.0.1:8931/x", "127.0.0.1:8931"),
        ("http://[::1]:8080/", "[::1]:8080"),
        ("https://[2001:DB8::1]/", "[2001:db8::1]"),
        ("https://[2001:db8::1]:443/", "[2001:db8::1]"),
        # one canonical form (docs/security.md#domain-names): NFKC, UTS-46 to A-labels, lower-case
        ("\uff42.test", "b.test"),  # fullwidth b
        ("\uff22\uff0e\uff54\uff45\uff53\uff54", "b.test"),  # fullwidth B.test with fullwidth dot
        ("b\u3002test", "b.test"),  # ideographic full stop
        ("b\u00fccher.example", "xn--bcher-kva.example"),
        ("B\u00dcCHER.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("https://XN--BCHER-KVA.example:8443/", "xn--bcher-kva.example:8443"),
        ("\u0431\u0443\u043a\u0432\u044b.\u0440\u0444", "xn--90acx9a4b.xn--p1ai"),
        ("stra\u00dfe.de", "xn--strae-oqa.de"),  # IDNA 2008: sharp s kept
        ("a" * 63 + ".test", "a" * 63 + ".test"),
    ],
)
def test_normalize_domain(value: str, expected: str) -> None:
    assert normalize_domain(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "http://",
        "://x",
        "http://exa mple.com",
        "not a domain",
        "http://example.com:99999",
        "http://example.com:abc",
        "http://:80",
        "http://[::1",
        "[::1",
        "http://[zz]/",
        "b.test\x00",
        "b\x00.test",
        "b.te\nst",
        "\x1bb.test",
        "b.test\x7f",
        "b\u200b.test",  # zero-width space (Cf)
        "a" * 64 + ".test",  # label over 63
        ".".join(["a" * 60] * 5),  # host over 253
        "a" * 100_000,  # clear error, no index error
        "ftp://b.test",
        "javascript:alert(1)",
        "b_c.test",
        "xn--zz.test",
    ],
)
def test_normalize_domain_rejects_bad_input(value: str) -> None:
    with pytest.raises(InvalidDomain):
        normalize_domain(value)

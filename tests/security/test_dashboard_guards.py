"""The dashboard's browser-facing guards (issue 14, item 8): Host check against DNS rebinding,
framing/sniffing/CSP headers, and no blank or short tokens."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from core.errors import OmniError
from dashboard.app import create_app
from dashboard.guards import allowed_hosts, check_token, host_allowed


@pytest.mark.parametrize(
    "bind, names, host, ok",
    [
        ("127.0.0.1", set(), "127.0.0.1:8000", True),
        ("127.0.0.1", set(), "localhost:8000", True),
        ("127.0.0.1", set(), "[::1]:8000", True),
        ("127.0.0.1", set(), "LOCALHOST", True),
        ("127.0.0.1", set(), "evil.example:8000", False),  # DNS rebinding: attacker's name
        ("127.0.0.1", set(), "127.0.0.1.evil.example", False),
        ("127.0.0.1", set(), "", False),
        ("127.0.0.1", set(), None, False),
        ("127.0.0.1", {"ops.shop.example"}, "ops.shop.example:8000", True),
        ("10.0.0.7", set(), "10.0.0.7:8000", True),
        ("10.0.0.7", set(), "10.0.0.8:8000", False),
        ("0.0.0.0", set(), "10.0.0.8:8000", True),  # any address of this machine
        ("0.0.0.0", set(), "evil.example", False),
        ("0.0.0.0", {"dash.example"}, "dash.example", True),
    ],
)
def test_host_allowed(bind, names, host, ok) -> None:
    assert host_allowed(host, bind, allowed_hosts(bind, names)) is ok


@pytest.mark.parametrize(
    "token, ok",
    [
        (None, True),
        ("0123456789abcdef", True),
        ("x" * 40, True),
        ("", False),
        (" " * 20, False),
        ("\t" * 16, False),
        ("short-token", False),
        ("0123456789abcde", False),
        (" 0123456789abcdef", False),
        ("0123456789abcdef\n", False),
        ("01234567 89abcde", False),  # 15 non-blank characters
    ],
)
def test_token_rules(token, ok) -> None:
    if ok:
        assert check_token(token) == token
    else:
        with pytest.raises(OmniError, match="at least 16 non-blank characters"):
            check_token(token)


def test_rebinding_host_is_refused_and_headers_are_set(services_env, db) -> None:

    app = create_app("127.0.0.1")
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        ok = client.get("/domains")
        assert ok.status_code == 200
        assert ok.headers["x-frame-options"] == "DENY"
        assert ok.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in ok.headers["content-security-policy"]
        assert "script-src 'self'" in ok.headers["content-security-policy"]
        refused = client.get("/domains", headers={"Host": "attacker.example:8000"})
        assert refused.status_code == 421 and "Host" in refused.text
        assert refused.headers["x-frame-options"] == "DENY"
        assert client.get("/healthz", headers={"Host": "attacker.example"}).status_code == 421


def test_a_public_bind_with_a_blank_token_is_refused(services_env) -> None:

    for token in (" " * 32, "short"):
        with pytest.raises(OmniError, match="OMNI_DASHBOARD_TOKEN must be at least 16"):
            create_app("0.0.0.0", token=token)

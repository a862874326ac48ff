"""Resolve, check, pin (crawlers/address_policy.py, crawlers/pinned_http.py): one DNS answer is
checked and that very address is connected to, so a second answer (DNS rebinding) is never used."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crawlers import pinned_http
from crawlers.address_policy import AddressPolicy, Blocked
from tests.support.http_thread import serve_in_thread


def _fixed(*answers: str):
    def resolver(host: str) -> list[str]:
        return list(answers)

    return resolver


def _fails(host: str) -> list[str]:
    raise OSError("no such host")


@pytest.mark.parametrize(
    "policy, resolver, expected",
    [
        (AddressPolicy(), _fixed("93.184.216.34"), "93.184.216.34"),
        (AddressPolicy(), _fixed("93.184.216.34", "2606:2800:220:1::1"), "93.184.216.34"),
        (
            AddressPolicy(),
            _fixed("93.184.216.34", "127.0.0.1"),
            "blocked: shop.test resolves to non-public address 127.0.0.1",
        ),
        (
            AddressPolicy(),
            _fixed("10.0.0.5"),
            "blocked: shop.test resolves to non-public address 10.0.0.5",
        ),
        (
            AddressPolicy(),
            _fixed("::ffff:169.254.169.254"),
            "blocked: shop.test resolves to non-public address ::ffff:169.254.169.254",
        ),
        (AddressPolicy(), _fails, "blocked: shop.test does not resolve"),
        (AddressPolicy(), _fixed(), "blocked: shop.test does not resolve"),
        (
            AddressPolicy(allowed_hosts=frozenset({"shop.test:8080"})),
            _fixed("127.0.0.1"),
            "127.0.0.1",
        ),
        (
            AddressPolicy(allowed_hosts=frozenset({"shop.test:9999"})),
            _fixed("127.0.0.1"),
            "blocked: shop.test resolves to non-public address 127.0.0.1",
        ),  # another port
        (AddressPolicy(allow_private=True), _fixed("192.168.1.1"), "192.168.1.1"),
    ],
)
def test_pin(policy, resolver, expected) -> None:
    try:
        got = policy.pin("shop.test", 8080, resolver)
    except Blocked as exc:
        got = str(exc)
    assert got == expected


@pytest.mark.parametrize(
    "url, reason",
    [
        ("ftp://shop.test/x", "blocked: scheme ftp is not fetched"),
        ("file:///etc/passwd", "blocked: scheme file is not fetched"),
        ("data:text/html,hi", None),
        ("about:blank", None),
        ("blob:https://x/1", None),
        ("http://127.0.0.1:1/", "blocked: 127.0.0.1 resolves to non-public address 127.0.0.1"),
        ("ws://[::1]:80/", "blocked: ::1 resolves to non-public address ::1"),
        (
            "http://0x7f000001/",
            "blocked: 0x7f000001 resolves to non-public address 127.0.0.1",
        ),  # hex form
    ],
)
def test_check_url(url, reason) -> None:
    assert AddressPolicy().check_url(url) == reason


def test_the_request_uses_the_one_checked_answer() -> None:
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            hosts.append(self.headers["Host"])
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    serve_in_thread(server)
    port = server.server_address[1]
    calls: list[str] = []

    def rebinding(host: str) -> list[str]:
        calls.append(host)  # the first answer is the allowed one; any later one would be hostile
        return ["127.0.0.1"] if len(calls) == 1 else ["169.254.169.254"]

    try:
        policy = AddressPolicy(allowed_hosts=frozenset({f"shop.test:{port}"}))
        answer = pinned_http.request(
            policy, "GET", f"http://shop.test:{port}/x", resolver=rebinding
        )
    finally:
        server.shutdown()
        server.server_close()
    assert (answer.status, answer.body) == (200, b"ok")
    assert calls == ["shop.test"] and hosts == [f"shop.test:{port}"]

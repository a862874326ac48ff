"""Claiming a domain needs proof (issue 14, items 3 and 6): a tenant files a claim (its own row,
no error either way), serves the claim's token at /.well-known/ on the domain, and
`omni domain verify` registers or transfers the domain. Tested against a real local server."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.crypto import Keyring, generate_key
from db import credentials
from interfaces.verification import WELL_KNOWN_PATH, Target, targets, token_found
from tests.security.conftest import as_attacker
from tests.support.http_thread import serve_in_thread
from tests.support.tenants import OMNI, REPO


@pytest.mark.parametrize(
    "domain, expected",
    [
        (
            "shop.example",
            [Target("https", "shop.example", 443), Target("http", "shop.example", 80)],
        ),
        (
            "shop.example:8443",
            [Target("https", "shop.example", 8443), Target("http", "shop.example", 8443)],
        ),
        ("127.0.0.1:8931", [Target("http", "127.0.0.1", 8931)]),
        ("localhost", [Target("http", "localhost", 80)]),
        ("[::1]:81", [Target("http", "::1", 81)]),
    ],
)
def test_targets(domain, expected) -> None:
    assert targets(domain) == expected


@pytest.mark.parametrize(
    "body, found",
    [
        ("tok123\n", True),
        ("  tok123  \r\n", True),
        ("other\ntok123\n", True),
        ("tok1234\n", False),
        ("xtok123", False),
        ("", False),
        ("tok12", False),
    ],
)
def test_token_found(body, found) -> None:
    assert token_found(body, "tok123") is found


class Site:
    """A real HTTP server on 127.0.0.1 serving whatever `proof` holds at the well-known path."""

    def __init__(self) -> None:
        site = self
        self.proof: str | None = None

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == WELL_KNOWN_PATH and site.proof is not None:
                    body, status = site.proof.encode(), 200
                else:
                    body, status = b"not here", 404
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.domain = f"127.0.0.1:{self.server.server_address[1]}"
        serve_in_thread(self.server)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site()
    yield server
    server.close()


def _verify(domain: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(OMNI), "domain", "verify", domain],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=REPO,
        timeout=120,
    )


def _claim(user, domain: str) -> dict:
    with as_attacker(user) as conn:
        return conn.execute(
            "INSERT INTO domain_claims (user_id, domain) VALUES (%s, %s) RETURNING id, token",
            (user, domain),
        ).fetchone()


def test_a_claim_without_proof_changes_nothing(db, tenants_ab, site) -> None:
    t = tenants_ab
    db.execute("UPDATE domains SET domain = %s WHERE id = %s", (site.domain, t.b.domain_id))
    _claim(t.a.user, site.domain)
    site.proof = "somebody-else's-token\n"
    result = _verify(site.domain)
    assert result.returncode == 1
    assert (
        result.stderr.strip().splitlines()[-1]
        == f"error: {site.domain} serves no pending claim's token"
    )
    assert (
        db.execute("SELECT user_id FROM domains WHERE domain = %s", (site.domain,)).fetchone()[
            "user_id"
        ]
        == t.b.user
    )
    claim = db.execute("SELECT status, error_message FROM domain_claims").fetchone()
    assert claim["status"] == "failed" and claim["error_message"] == "token not served by the site"


def test_a_proven_claim_registers_a_new_domain(db, tenants_ab, site) -> None:
    t = tenants_ab
    claim = _claim(t.a.user, site.domain)
    site.proof = f"# omni\n{claim['token']}\n"
    result = _verify(site.domain)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"verified {site.domain} for user {t.a.user}"
    row = db.execute("SELECT user_id FROM domains WHERE domain = %s", (site.domain,)).fetchone()
    assert row["user_id"] == t.a.user


def test_a_proven_claim_transfers_a_held_domain_without_its_credentials(
    db, tenants_ab, site
) -> None:
    t = tenants_ab
    db.execute("UPDATE domains SET domain = %s WHERE id = %s", (site.domain, t.b.domain_id))
    ring = Keyring.from_string(generate_key())
    credentials.set_woocommerce(db, site.domain, "ck_b", "cs_b", keyring=ring)
    claim = _claim(t.a.user, site.domain)
    site.proof = claim["token"]
    result = _verify(site.domain)
    assert result.returncode == 0, result.stderr
    assert "transferred from its previous owner" in result.stdout
    assert (
        db.execute("SELECT user_id FROM domains WHERE id = %s", (t.b.domain_id,)).fetchone()[
            "user_id"
        ]
        == t.a.user
    )
    # B's credentials did not come along: they wait in quarantine for the operator
    assert credentials.get_woocommerce(db, site.domain, keyring=ring) is None
    parked = db.execute(
        "SELECT reason, customer_id FROM omni_quarantine.customer_configs"
    ).fetchall()
    assert [(p["reason"], p["customer_id"]) for p in parked] == [
        ("domain transferred to a verified claimant", t.b.customer)
    ]


def test_verification_fetch_is_under_the_ssrf_rule(db, tenants_ab, site) -> None:
    """With private networks refused, a claim on a private address cannot be verified (the
    pipeline is not made to fetch from the internal network), unless that exact host:port is
    allowed."""
    t = tenants_ab
    claim = _claim(t.a.user, site.domain)
    site.proof = claim["token"]
    refused = _verify(site.domain, OMNI_ALLOW_PRIVATE_NETWORKS="0")
    assert refused.returncode == 1
    assert "blocked: 127.0.0.1 resolves to non-public address 127.0.0.1" in refused.stderr
    db.execute("UPDATE domain_claims SET status = 'pending'")
    allowed = _verify(
        site.domain, OMNI_ALLOW_PRIVATE_NETWORKS="0", OMNI_ALLOWED_PRIVATE_HOSTS=site.domain
    )
    assert allowed.returncode == 0, allowed.stderr


def test_claims_are_stored_lower_case_without_spaces_or_trailing_dot(db, tenants_ab) -> None:
    t = tenants_ab
    with as_attacker(t.a.user) as conn:
        row = conn.execute(
            "INSERT INTO domain_claims (user_id, domain) VALUES (%s, ' Shop.EXAMPLE. ') "
            "RETURNING domain",
            (t.a.user,),
        ).fetchone()
        assert row["domain"] == "shop.example"
        with pytest.raises(Exception, match="domain_claims_domain_check"):
            conn.execute(
                "INSERT INTO domain_claims (user_id, domain) VALUES (%s, 'a\tb.test')", (t.a.user,)
            )

"""The embedded services are not open to every local user (issue 14, item 8): Postgres wants a
generated scram password, Redis a generated password in protected mode, and their secret and
data files are 0600. A data dir made before (trust, no password) gets one on its next start."""

from __future__ import annotations

import shutil
import stat
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import redis

from interfaces.cli.services_cmd import redact
from interfaces.services import EmbeddedPostgres, EmbeddedRedis
from tests.support.paths import TEST_DATA_DIR
from tests.support.watchdog import stop_on_exit


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"{parts.username}@{parts.hostname}:{parts.port}").geturl()


def _refused(url: str) -> str:
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(url, connect_timeout=5).close()
    return str(info.value)


@pytest.fixture
def postgres():
    """A fresh cluster under this worktree's .omni-test (not pytest's tmp dir: when run as root,
    Postgres runs as another user, and every pytest run on the machine resets the shared
    pytest-of-root directory to 0700)."""

    root = TEST_DATA_DIR / f"scratch-{uuid.uuid4().hex[:8]}"
    pg = EmbeddedPostgres(root)
    stop_on_exit(pg)
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_postgres_wants_its_generated_password(postgres: EmbeddedPostgres) -> None:
    url = postgres.start()
    password = urlsplit(url).password
    assert password and len(password) >= 32
    assert postgres.password_file.read_text().strip() == password
    assert _mode(postgres.password_file) == 0o600
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "postgres"
    assert "password" in _refused(_without_password(url))
    assert "password authentication failed" in _refused(url.replace(password, "guess" * 8))
    rules = [
        line.split()
        for line in (postgres.pgdata / "pg_hba.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules and {rule[-1] for rule in rules} == {"scram-sha-256"}


def test_an_old_trust_data_dir_gets_a_password_on_next_start(postgres: EmbeddedPostgres) -> None:
    postgres.start()
    postgres.stop()
    # what an older version left: trust for everyone, no password file
    (postgres.pgdata / "pg_hba.conf").write_text(
        "local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n"
    )
    postgres.password_file.unlink()
    url = postgres.start()
    password = urlsplit(url).password
    assert password and _mode(postgres.password_file) == 0o600
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone()[0] == 1
    assert "password" in _refused(_without_password(url))


def test_redis_wants_its_password_in_protected_mode_with_0600_files(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    stop_on_exit(server)
    url = server.start()
    try:
        password = urlsplit(url).password
        assert password and len(password) >= 32
        anonymous = redis.Redis(host="127.0.0.1", port=urlsplit(url).port)
        with pytest.raises(redis.AuthenticationError):
            anonymous.ping()
        anonymous.close()
        client = redis.Redis.from_url(url)
        client.set("k", "v")
        assert client.config_get("protected-mode") == {"protected-mode": "yes"}
        client.close()
        ps_visible = Path(f"/proc/{server.pid()}/cmdline").read_bytes()
        assert password.encode() not in ps_visible  # in the 0600 config file, not argv
        files = [p for p in server.root.rglob("*") if p.is_file()]
        assert any("appendonly" in p.name or p.suffix == ".aof" for p in files)
        assert {str(p.relative_to(server.root)): _mode(p) for p in files if _mode(p) != 0o600} == {}
        assert _mode(server.root) == 0o700
    finally:
        server.stop()


@pytest.mark.parametrize(
    "url, shown",
    [
        (
            "postgresql://postgres:pw123@127.0.0.1:5432/omni",
            "postgresql://postgres:***@127.0.0.1:5432/omni",
        ),
        ("redis://:pw123@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("postgresql://postgres@127.0.0.1:5432/omni", "postgresql://postgres@127.0.0.1:5432/omni"),
        (None, "-"),
    ],
)
def test_status_table_hides_passwords(url, shown) -> None:

    assert redact(url) == shown

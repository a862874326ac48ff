"""Where Postgres and Redis are: DATABASE_URL / REDIS_URL, or the embedded servers in
OMNI_DATA_DIR (their port and password files). Nothing here starts a server: that is the
interface layer's job (`interfaces.services.up`, which every `omni` command that needs the services
runs first), so opening a connection never has a server start as a side effect."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from core.config import Settings, get_settings
from core.errors import OmniError

PG_USER = "postgres"
PG_DATABASE = "omni"


class ServiceError(OmniError, RuntimeError):
    """An embedded service could not be started or reached."""


def redact_url(url: str) -> str:
    """The URL with its password shown as *** (URLs are printed; secrets never are)."""
    password = urlsplit(url).password
    return url.replace(f":{password}@", ":***@", 1) if password else url


def read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def read_secret(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def embedded_postgres_url(root: Path, database: str = PG_DATABASE) -> str | None:
    """The URL of the embedded Postgres kept in `root` (OMNI_DATA_DIR/postgres), if it has one."""
    port = read_int(root / "port")
    password = read_secret(root / "password")
    user = f"{PG_USER}:{password}" if password else PG_USER
    return f"postgresql://{user}@127.0.0.1:{port}/{database}" if port else None


def embedded_redis_url(root: Path) -> str | None:
    """The URL of the embedded Redis kept in `root` (OMNI_DATA_DIR/redis), if it has one."""
    port = read_int(root / "port")
    password = read_secret(root / "password")
    auth = f":{password}@" if password else ""
    return f"redis://{auth}127.0.0.1:{port}/0" if port else None


def database_url(settings: Settings | None = None) -> str:
    """DATABASE_URL, or the running embedded Postgres's URL."""
    settings = settings or get_settings()
    return settings.database_url or _running(
        settings.data_dir / "postgres", "Postgres", embedded_postgres_url
    )


def redis_url(settings: Settings | None = None) -> str:
    """REDIS_URL, or the running embedded Redis's URL."""
    settings = settings or get_settings()
    return settings.redis_url or _running(settings.data_dir / "redis", "Redis", embedded_redis_url)


def _running(root: Path, name: str, url_of: Callable[[Path], str | None]) -> str:
    url = url_of(root)
    if not url or not port_open(read_int(root / "port") or 0):
        raise ServiceError(f"embedded {name} is not running (run `omni services up`)")
    return url

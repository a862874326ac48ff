"""Run the API with uvicorn and advertise it in the data dir's serve file, which `omni search`
reads to use the running server (and its operator token) instead of loading the model itself."""

from __future__ import annotations

import json
import os
import secrets
import socket
from pathlib import Path
from typing import Any

import uvicorn

from core.config import Settings

SERVE_FILE = "serve.json"


def serve_file(settings: Settings) -> Path:
    return Path(settings.data_dir) / SERVE_FILE


def write_serve_file(path: Path, url: str, token: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the token is a secret
    with os.fdopen(fd, "w") as out:
        json.dump({"url": url, "pid": os.getpid(), "token": token}, out)
    tmp.replace(path)


def read_serve_file(path: Path) -> dict[str, Any] | None:
    """The running server's {url, pid, token}; None without one (no file, or its process gone)."""
    try:
        info = json.loads(path.read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info if isinstance(info.get("url"), str) else None


def run(settings: Settings, host: str, port: int) -> None:
    # Starlette and the search stack: only when serving
    from interfaces.serve.app import create_app  # noqa: PLC0415 - see the reason above

    token = secrets.token_urlsafe(32)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))  # port 0: the kernel picks one, and the file names it
    bound = sock.getsockname()[1]
    url = f"http://{'[' + host + ']' if ':' in host else host}:{bound}"
    path = serve_file(settings)
    config = uvicorn.Config(
        create_app(settings, operator_token=token), log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    original_startup = server.startup

    async def startup(sockets: Any = None) -> None:
        await original_startup(sockets=sockets)
        write_serve_file(path, url, token)  # only once the model is loaded and it listens
        print(f"serving: {url}/v1/search", flush=True)

    original_shutdown = server.shutdown

    async def shutdown(sockets: Any = None) -> None:
        # here, not after run(): uvicorn re-raises SIGTERM once it has stopped
        _remove_own_file(path)
        await original_shutdown(sockets=sockets)

    server.startup = startup  # type: ignore[method-assign]  # uvicorn has no startup hook
    server.shutdown = shutdown  # type: ignore[method-assign]  # nor a shutdown hook
    try:
        server.run(sockets=[sock])
    finally:
        _remove_own_file(path)


def _remove_own_file(path: Path) -> None:
    info = read_serve_file(path)
    if info is not None and info.get("pid") == os.getpid():
        path.unlink(missing_ok=True)

"""`omni search`'s side of `omni serve`: find a running server and search through it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import typer

from core.config import Settings
from core.errors import NotFound, OmniError
from interfaces.serve import MAX_K
from interfaces.serve.runner import read_serve_file, serve_file

TIMEOUT = 30.0


@dataclass(frozen=True)
class Server:
    url: str
    key: str
    source: str  # where it was found: 'OMNI_SERVE_URL' or the serve file's path


def running_server(settings: Settings) -> Server | None:
    if settings.serve_url:
        if settings.serve_key is None:
            raise OmniError(
                "OMNI_SERVE_URL is set without OMNI_SERVE_KEY (an `omni serve key create` key)"
            )
        return Server(
            settings.serve_url.rstrip("/"), settings.serve_key.get_secret_value(), "OMNI_SERVE_URL"
        )
    path = serve_file(settings)
    info = read_serve_file(path)
    return Server(info["url"], info["token"], str(path)) if info else None


def search_through(
    server: Server, query: str, domain: str, k: int, hybrid: bool
) -> list[dict[str, Any]] | None:
    """The results from the server; None when the advertised server does not answer, or for
    more than MAX_K results (the caller then searches by itself). Says on stderr which it was."""
    if k > MAX_K:
        return None
    try:
        response = httpx.post(
            f"{server.url}/v1/search",
            timeout=TIMEOUT,
            headers={"Authorization": f"Bearer {server.key}"},
            json={"domain": domain, "query": query, "k": k, "hybrid": hybrid},
        )
    except httpx.TransportError as exc:
        if server.source == "OMNI_SERVE_URL":
            raise OmniError(
                f"omni serve at {server.url} (OMNI_SERVE_URL) is not answering: {exc}"
            ) from exc
        typer.echo(f"omni serve at {server.url} is not answering; searching directly", err=True)
        return None
    typer.echo(f"searched through omni serve at {server.url}", err=True)
    if response.status_code == 404:
        raise NotFound(response.json().get("error", "unknown domain"))
    if response.status_code != 200:
        raise OmniError(f"omni serve answered {response.status_code}: {response.text[:200]}")
    return response.json()["results"]

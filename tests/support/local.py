"""Things on this machine the tests use: a free TCP port, and Debian's Chromium's arguments."""

from __future__ import annotations

import socket

# Debian's Chromium in a container: no sandbox, GPU, background downloads or component updates.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

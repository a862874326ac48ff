"""The tests' local HTTP servers (sites, APIs, the OpenAI-compatible server) served on a thread."""

from __future__ import annotations

import socketserver
import threading

# serve_forever's default poll of 0.5 s is how long shutdown() may wait: with a server or two
# per test that was ~0.35 s of teardown each.
SHUTDOWN_POLL_S = 0.02


def serve_in_thread(server: socketserver.BaseServer, name: str = "test-http") -> threading.Thread:
    """Serve `server` on a daemon thread until its shutdown(); the thread."""
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": SHUTDOWN_POLL_S},
        name=name,
        daemon=True,
    )
    thread.start()
    return thread

"""The demo's dashboard stops on SIGINT and SIGTERM, also in a process that started with SIGINT
ignored (what a non-interactive shell's `&` and nohup give a background command: `kill -INT`
then did nothing, and the demo ran until it was SIGKILLed)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest

from interfaces.demo_site.run import _Dashboard
from tests.support.local import free_port


@pytest.fixture
def sigint_ignored() -> Iterator[None]:
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_dashboard_wait_ends_on_the_signal_and_puts_the_handlers_back(
    sigint_ignored: None, signum: int
) -> None:
    board = _Dashboard(free_port(), echo=lambda _: None)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    fallback_sent = threading.Event()

    def send() -> None:
        os.kill(os.getpid(), signum)
        # wait() did not end on `signum`: end it by stopping the server, and fail below
        if not done.wait(15):
            fallback_sent.set()
            board.server.should_exit = True

    done = threading.Event()
    sender = threading.Timer(0.5, send)
    sender.start()
    try:
        board.wait()
    finally:
        done.set()
        sender.join()
        board.stop()
    assert not fallback_sent.is_set(), f"wait() did not end on signal {signum}"
    assert {s: signal.getsignal(s) for s in handlers} == handlers
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN

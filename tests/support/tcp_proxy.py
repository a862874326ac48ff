"""A loopback TCP proxy that can cut, stall or delay the connections through it (the fault
suite puts one in front of the workers' Redis and Postgres).

    with TcpProxy(upstream_port) as proxy:      # 127.0.0.1:proxy.port -> 127.0.0.1:upstream
        proxy.cut()      # close every connection and refuse new ones (a network partition)
        proxy.stall()    # keep connections open but forward nothing (a hung peer)
        proxy.delay(0.2) # forward each chunk 0.2 s late
        proxy.heal()     # back to normal
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time


class TcpProxy:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.mode = "pass"
        self.latency = 0.0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    def url_for(self, url: str, port: int) -> str:
        """`url` with its port replaced by the proxy's."""
        return url.replace(f":{port}", f":{self.port}", 1)

    # ---------------------------------------------------------------- faults
    def cut(self) -> None:
        self.mode = "cut"
        with self._lock:
            conns, self._conns = self._conns, set()
        for conn in conns:
            _close(conn)

    def stall(self) -> None:
        self.mode = "stall"

    def delay(self, seconds: float) -> None:
        self.mode, self.latency = "pass", seconds

    def heal(self) -> None:
        self.mode, self.latency = "pass", 0.0

    # ---------------------------------------------------------------- plumbing
    def __enter__(self) -> TcpProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            if self.mode == "cut":
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._conns.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while not self._stop.is_set():
                if self.mode == "stall":
                    time.sleep(0.05)
                    continue
                ready, _, _ = select.select(list(peers), [], [], 0.2)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if self.latency:
                        time.sleep(self.latency)
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for sock in (a, b):
                _close(sock)
            with self._lock:
                self._conns.difference_update((a, b))


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()

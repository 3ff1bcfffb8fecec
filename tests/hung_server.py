"""A server that accepts connections and never answers: what a client sees of a Redis or a
PostgreSQL frozen with SIGSTOP (the kernel completes the handshake, nothing replies)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class HungServer:
    port: int
    connections: list[socket.socket] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return len(self.connections)


@contextlib.contextmanager
def hung_server() -> Iterator[HungServer]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)
    server = HungServer(port=listener.getsockname()[1])
    stop = threading.Event()

    def accept_and_hold() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server.connections.append(conn)

    thread = threading.Thread(target=accept_and_hold, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in server.connections:
            conn.close()
        listener.close()

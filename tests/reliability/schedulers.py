"""Two beat schedulers at once, tick by tick on a frozen clock, and a webhook receiver that
counts what reaches it: the harness of the tests that nothing periodic runs twice."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.db import connections
from django.utils import timezone


class CountingReceiver:
    def __init__(self) -> None:
        self.seen: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.seen.append(self.headers["X-Handoff-Delivery"])
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def two_schedulers(
    traveller: object,
    start: datetime,
    tick: timedelta,
    ticks: int,
    beat: Callable[[datetime], Counter[str]],
) -> Counter[str]:
    """Two threads, each with its own database connection, run `beat` at every tick at the
    same moment: both wait for each other, the clock moves on, then both fire. Returns what
    both did, summed; an error in either fails the caller."""
    totals: list[Counter[str]] = [Counter(), Counter()]
    errors: list[BaseException] = []
    moments = iter(start + tick * n for n in range(1, ticks + 1))
    barrier = threading.Barrier(2, action=lambda: traveller.move_to(next(moments)))  # type: ignore[attr-defined]

    def scheduler(index: int) -> None:
        try:
            for _ in range(ticks):
                barrier.wait(timeout=60)
                totals[index].update(beat(timezone.now()))
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scheduler, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return totals[0] + totals[1]

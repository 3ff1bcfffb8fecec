"""A small HTTP load generator: threads, each with one keep-alive connection to 127.0.0.1,
bounded by a request count and a time limit, timed after every thread's warm-up. Run as its
own process so its CPU is not the server's: `python -m bench.loadgen < spec.json` prints one
JSON result line.

Spec: {"port", "method", "path", "headers", "body" (may hold {n}, replaced by a unique
number per request), "concurrency", "requests", "seconds", "warmup"}.
"""

from __future__ import annotations

import http.client
import itertools
import json
import statistics
import sys
import threading
import time
from typing import Any


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(spec: dict[str, Any]) -> dict[str, Any]:
    counter = itertools.count(int(spec.get("first", 0)))
    lock = threading.Lock()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    limit = int(spec["requests"])
    issued = itertools.count()
    window: dict[str, float] = {}

    def open_window() -> None:
        window["began"] = time.perf_counter()
        window["deadline"] = window["began"] + float(spec["seconds"])

    # Every connection warms up first (a worker's first requests load code and connect to
    # the database); the measured window opens only when all of them are done.
    warmed = threading.Barrier(int(spec["concurrency"]), action=open_window)
    body_template: str | None = spec.get("body")
    headers = {"Connection": "keep-alive", **spec.get("headers", {})}
    ok_status = set(spec.get("ok", [200, 201]))

    def one(conn: http.client.HTTPConnection) -> tuple[int, float]:
        body = body_template.replace("{n}", str(next(counter))) if body_template else None
        began = time.perf_counter()
        conn.request(spec["method"], spec["path"], body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - began

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", spec["port"], timeout=30)
        for _ in range(int(spec.get("warmup", 0))):
            try:
                one(conn)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", spec["port"], timeout=30)
        warmed.wait()
        while next(issued) < limit and time.perf_counter() < window["deadline"]:
            try:
                status, took = one(conn)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", spec["port"], timeout=30)
                status, took = type(exc).__name__, 0.0
            with lock:
                if status in ok_status:
                    latencies.append(took)
                else:
                    errors[str(status)] = errors.get(str(status), 0) + 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(int(spec["concurrency"]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - window["began"]
    return {
        "ok": len(latencies),
        "errors": errors,
        "seconds": elapsed,
        "rate": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.stdin.read()))))

"""A circuit breaker for calls to a service that may hang: after one failure, skip it for a
few seconds so a dead or frozen Redis costs one request a timeout, not every request."""

from __future__ import annotations

import time


class Breaker:
    """Open for `seconds` after `trip()`; callers check `is_open()` and skip the call."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._open_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def trip(self) -> None:
        self._open_until = time.monotonic() + self.seconds

    def reset(self) -> None:
        self._open_until = 0.0

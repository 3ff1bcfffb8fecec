"""Liveness and readiness: what a load balancer and compose ask before sending traffic.

`/healthz` answers as long as the process does (a restart would not cure a database that is
down) and says whether the database answers; `/readyz` names every check it ran, and answers
503 when one fails, so an operator reads which part is down from the body.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from celery import current_app
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from sla.selectors import sweep_lag

# Every probe gives up within this many seconds (the database's own connect timeout aside).
PROBE_TIMEOUT_SECONDS = 1


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str

    def as_json(self) -> dict[str, object]:
        return {"ok": self.ok, "detail": self.detail}


def _describe(exc: BaseException) -> str:
    """The error's class and first line: enough to tell "refused" from "timed out", never a
    password (connection URLs are not part of driver messages)."""
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{exc.__class__.__name__}: {first_line}"[:200]


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "answers"


_migrations_applied = False


def check_migrations() -> str:
    """Applied migrations stay applied until the next deploy restarts the process, so a
    success is remembered; only a pending plan is read again."""
    global _migrations_applied
    if not _migrations_applied:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            raise RuntimeError(f"{len(pending)} migrations not applied")
        _migrations_applied = True
    return "all applied"


def check_redis() -> str:
    if not settings.REDIS_URL:
        return "not configured (embedded default)"
    import redis

    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
        socket_timeout=PROBE_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    finally:
        client.close()
    return "answers"


def check_broker() -> str:
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=PROBE_TIMEOUT_SECONDS)
    return "reachable"


def check_sweep_lag(now: datetime) -> str:
    lag = sweep_lag(now=now).total_seconds()
    limit = settings.READYZ_MAX_SWEEP_LAG_SECONDS
    if lag > limit:
        raise RuntimeError(f"oldest unflagged due clock is {lag:.0f} s late (limit {limit} s)")
    return f"{lag:.0f} s"


def _run(name: str, probe: Callable[[], str]) -> CheckResult:
    try:
        return CheckResult(name, True, probe())
    except Exception as exc:  # a check reports its failure; it never raises
        return CheckResult(name, False, _describe(exc))


def liveness() -> dict[str, object]:
    database = _run("database", check_database)
    return {"status": "ok", "database": "up" if database.ok else "down"}


def readiness(now: datetime) -> tuple[bool, dict[str, object]]:
    started = time.monotonic()
    results = [_run("database", check_database)]
    if results[0].ok:
        results.append(_run("migrations", check_migrations))
        results.append(_run("sweep_lag", lambda: check_sweep_lag(now)))
    else:
        for name in ("migrations", "sweep_lag"):
            results.append(CheckResult(name, False, "not checked: the database is down"))
    results.append(_run("redis", check_redis))
    results.append(_run("broker", check_broker))
    ready = all(result.ok for result in results)
    return ready, {
        "status": "ok" if ready else "unavailable",
        "failing": [result.name for result in results if not result.ok],
        "checks": {result.name: result.as_json() for result in results},
        "duration_ms": int((time.monotonic() - started) * 1000),
    }

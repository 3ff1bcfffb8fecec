"""The sweep against real services: a Celery worker on Redis, concurrent sweeps and a
worker killed mid-batch on PostgreSQL. Nothing is lost, nothing is doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from crm.celery import app
from crm.models import OutboxMessage
from crm.outbox import outbox_drain
from leads.models import LeadEvent
from sla.models import Breach, ClockState, SlaClock
from sla.sweep import (
    at_risk_claim_sql,
    breached_claim_sql,
    breaches_claim_sql,
    reassign_claim_sql,
    sla_sweep,
    work_waiting_sql,
)
from sla.sweep_sql import flag_at_risk_sql, flag_breached_sql
from sla.tasks import sweep

ROOT = Path(__file__).resolve().parents[2]


# Generous: a worker subprocess starting on a busy 2-core machine can take half a minute.
def _wait_for(condition, timeout: float = 90.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _due_leads(hand_off, count: int) -> None:
    """Leads handed off two days ago: their 4-business-hour accept clocks are past due."""
    for _ in range(count):
        hand_off(at=timezone.now() - timedelta(days=6))


def _assert_each_breach_once(expected: int) -> None:
    assert SlaClock.objects.filter(state=ClockState.BREACHED).count() == expected
    assert Breach.objects.count() == expected
    assert Breach.objects.filter(processed_at__isnull=True).count() == 0
    flagged = LeadEvent.objects.filter(kind=LeadEvent.Kind.CLOCK, changes__state__1="breached")
    assert flagged.count() == expected
    # One fan-out per breach, which the drain expands into one in-app message and one email
    # for the owner and the manager.
    assert sorted(
        OutboxMessage.objects.filter(channel="fan_out").values_list("delivery_key", flat=True)
    ) == sorted(f"breach:{pk}:fan_out" for pk in Breach.objects.values_list("pk", flat=True))
    outbox_drain(limit=expected)
    assert OutboxMessage.objects.exclude(channel="fan_out").count() == expected * 4


def two_sweeps_at_once(*, now, batch_size: int) -> list:
    """Two sweeps started together in two threads (two database sessions); their results."""
    barrier = threading.Barrier(2)
    results = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(sla_sweep(now=now, batch_size=batch_size))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_on_redis_runs_the_sweep(hand_off, accept_policy):
    from celery.contrib.testing.worker import start_worker

    _due_leads(hand_off, 1)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        sweep.delay()
        _wait_for(
            lambda: SlaClock.objects.filter(state=ClockState.BREACHED).exists(),
            what="the worker to flag the clock",
        )
    clock = SlaClock.objects.get()
    assert clock.breached_at == clock.due_at
    _assert_each_breach_once(1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_flag_and_notify_each_breach_once(hand_off, accept_policy):
    _due_leads(hand_off, 30)
    results = two_sweeps_at_once(now=timezone.now(), batch_size=4)

    assert sum(r.breached for r in results) == 30
    assert sum(r.notified for r in results) == 30
    _assert_each_breach_once(30)


def _dsn() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def _blocked_session(blocker_pid: int) -> tuple[int, str] | None:
    """(pid, query) of a session of this database, other than the blocker and this probe,
    that waits on a lock."""
    with connection.cursor() as probe:
        probe.execute(
            "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid NOT IN (pg_backend_pid(), %s)",
            [blocker_pid],
        )
        return probe.fetchone()


def _session_gone(pid: int) -> bool:
    with connection.cursor() as probe:
        probe.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        return probe.fetchone()[0] == 0


def _start_worker(tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": _dsn(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "REDIS_URL": settings.REDIS_URL,
        "HANDOFF_VAR_DIR": str(tmp_path),
        "OUTBOX_ENQUEUE_HINTS": "0",
        "CELERY_VISIBILITY_TIMEOUT": "2",
        # Scan for messages of a vanished worker every second, not every 100 s.
        "CELERY_RESTORE_INTERVAL": "1",
        "CELERY_RESTORE_THROTTLE": "1",
    }
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "crm", "worker", "--pool=solo",
         f"--hostname={name}@test", "--loglevel=INFO", "--without-heartbeat",
         "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


def _wait_until_ready(name: str) -> None:
    _wait_for(
        lambda: bool(app.control.ping(destination=[f"{name}@test"], timeout=0.5)),
        what=f"worker {name} to answer",
    )


def _empty_broker() -> None:
    """Purge the queue and forget unacknowledged messages: one that an earlier, failed run
    left behind would replay into this run and sweep before the test holds its locks."""
    import redis

    app.control.purge()
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(
        "unacked", "unacked_index", "unacked_mutex"
    )


def _task_succeeded(log: Path, task_id: str) -> bool:
    return f"sla.tasks.sweep[{task_id}] succeeded" in log.read_text(errors="replace")


# Where the worker dies, and how many clocks its batch left flagged: all of it or none of it.
KILL_POINTS = {
    # The history table held: the flagging statement waits before it writes anything. The
    # client never sends COMMIT, so the server rolls the batch back when it finds it gone.
    "mid-batch": ("LOCK TABLE leads_leadevent IN SHARE ROW EXCLUSIVE MODE", "WITH", 0),
    # The leads held: the batch has flagged the clocks and written breaches, history and
    # fan-outs, and waits at COMMIT on the deferred foreign-key checks. COMMIT was sent, so the
    # server completes it once the leads are free, client or no client.
    "at-commit": ("SELECT id FROM leads_lead WHERE id = ANY(%s) FOR UPDATE", "COMMIT", 5),
    # The outbox held: the batch's statement, which also queues the breaches' fan-outs, waits
    # for it. The whole batch rolls back: no breach without its fan-out.
    "mid-queue": (
        "LOCK TABLE crm_outboxmessage IN SHARE ROW EXCLUSIVE MODE",
        "WITH",
        0,
    ),
}


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kill_point", KILL_POINTS)
def test_a_worker_killed_mid_sweep_loses_and_doubles_nothing(
    hand_off, accept_policy, tmp_path, kill_point
):
    hold, waiting_on, flagged = KILL_POINTS[kill_point]
    _due_leads(hand_off, 5)
    lead_ids = list(SlaClock.objects.values_list("lead_id", flat=True))
    _empty_broker()
    first = _start_worker(tmp_path, "doomed")
    try:
        _wait_until_ready("doomed")
        blocker = psycopg2.connect(_dsn())
        try:
            cursor = blocker.cursor()
            cursor.execute("SELECT pg_backend_pid()")
            blocker_pid = cursor.fetchone()[0]
            cursor.execute(hold, [lead_ids] if "%s" in hold else None)
            killed = sweep.delay()
            _wait_for(
                lambda: _blocked_session(blocker_pid) is not None,
                what="the sweep to block mid-batch",
            )
            pid, query = _blocked_session(blocker_pid)
            assert query.startswith(waiting_on), query
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            blocker.rollback()
            blocker.close()
        _wait_for(lambda: _session_gone(pid), what="the killed worker's session to end")
        # The killed batch took effect whole or not at all: nothing half-flagged, and no
        # breach marked notified without its fan-out.
        assert SlaClock.objects.filter(state=ClockState.BREACHED).count() == flagged
        assert SlaClock.objects.filter(state=ClockState.RUNNING).count() == 5 - flagged
        assert Breach.objects.count() == flagged
        assert LeadEvent.objects.filter(changes__state__1="breached").count() == flagged
        assert Breach.objects.filter(processed_at__isnull=False).count() == flagged
        assert OutboxMessage.objects.filter(channel="fan_out").count() == flagged
        assert OutboxMessage.objects.count() == flagged

        second = _start_worker(tmp_path, "survivor")
        try:
            _wait_until_ready("survivor")
            sweep.delay()  # what beat sends next minute
            _wait_for(
                lambda: Breach.objects.filter(processed_at__isnull=False).count() == 5,
                what="the restarted worker to flag and notify",
            )
            # The killed message was never acknowledged: the broker hands it to the survivor
            # once its visibility timeout runs out. Wait until that replay has run in full.
            _wait_for(
                lambda: _task_succeeded(tmp_path / "survivor.log", killed.id),
                timeout=30,  # replayed within seconds: the worker scans every second
                what="the killed sweep message to replay",
            )
        finally:
            second.terminate()
            second.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    _assert_each_breach_once(5)
    for clock in SlaClock.objects.all():
        assert clock.breached_at == clock.due_at


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_sweep_statements_use_the_partial_indexes():
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql, params, indexes in (
            (*breached_claim_sql(now, 500), ["slaclock_open_due_idx"]),
            (*at_risk_claim_sql(now, 500), ["slaclock_running_risk_idx"]),
            (*breaches_claim_sql(now, 500), ["breach_unprocessed_idx"]),
            (*flag_breached_sql(breached_claim_sql(now, 500), now), ["slaclock_open_due_idx"]),
            (*flag_at_risk_sql(at_risk_claim_sql(now, 500)), ["slaclock_running_risk_idx"]),
            (
                *work_waiting_sql(now),
                [
                    "slaclock_open_due_idx",
                    "slaclock_running_risk_idx",
                    "breach_unprocessed_idx",
                    "slaclock_reassign_due_idx",
                ],
            ),
            (*reassign_claim_sql(now, 500, [1, 2]), ["slaclock_reassign_due_idx"]),
        ):
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            for index in indexes:
                assert index in plan, plan

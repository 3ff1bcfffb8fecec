"""A sweep batch costs the same number of queries for 2 breaches as for 6, and so does the
drain that expands their fan-outs: recipients and escalation lists are read once per batch,
not once per breach. On PostgreSQL a flagging batch is one statement that also queues the
breaches' fan-outs (elsewhere a notify batch is one claim and one insert); an idle tick is
one read on every database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import OutboxMessage
from crm.outbox import outbox_drain
from sla.models import Breach
from sla.sweep import sla_sweep
from tests.sla.conftest import MONDAY_10AM

pytestmark = pytest.mark.django_db


def _sweep_queries(hand_off, count: int, week: int) -> tuple[int, int]:
    """Queries of the sweep, then of the drain that expands and delivers its fan-outs."""
    for _ in range(count):
        hand_off(at=MONDAY_10AM + timedelta(days=7 * week))
    now = MONDAY_10AM + timedelta(days=7 * week + 1)
    with CaptureQueriesContext(connection) as swept:
        result = sla_sweep(now=now, batch_size=100)
    assert result.breached == count
    assert result.notified == count
    with CaptureQueriesContext(connection) as drained:
        assert outbox_drain(now=now).expanded == count
    return len(swept), len(drained)


def test_breach_notices_cost_the_same_queries_for_more_breaches(hand_off, accept_policy):
    few = _sweep_queries(hand_off, 2, week=0)
    many = _sweep_queries(hand_off, 6, week=1)

    assert many == few
    assert OutboxMessage.objects.filter(channel="in_app", status="sent").count() == 16


def _statements(captured: CaptureQueriesContext) -> list[str]:
    """What the sweep sent, without the savepoints of its per-batch transactions."""
    return [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]


def test_an_idle_tick_is_one_read(hand_off, accept_policy):
    hand_off()
    with CaptureQueriesContext(connection) as captured:
        result = sla_sweep(now=MONDAY_10AM + timedelta(minutes=1))
    assert (result.breached, result.at_risk, result.notified) == (0, 0, 0)
    assert len(_statements(captured)) == 1


@pytest.mark.postgres
def test_on_postgresql_a_flagging_batch_is_one_statement_that_queues_its_fan_outs(
    hand_off, accept_policy
):
    for _ in range(6):
        hand_off()
    with CaptureQueriesContext(connection) as captured:
        result = sla_sweep(now=MONDAY_10AM + timedelta(days=2), batch_size=2)
    assert (result.breached, result.notified) == (6, 6)
    probe, *statements = _statements(captured)
    assert probe.startswith("SELECT (SELECT")  # is anything due, at risk or unnotified?
    # Three full batches and the short one that ends the loop, each one statement that
    # claims the clocks and writes their breach rows, history and fan-outs; nothing is left
    # for the notify step to claim, so it does not run.
    assert len(statements) == 4, statements
    assert all(s.startswith("WITH flagged AS (UPDATE") for s in statements), statements
    assert not Breach.objects.filter(processed_at__isnull=True).exists()
    assert OutboxMessage.objects.filter(channel="fan_out").count() == 6
    assert not OutboxMessage.objects.exclude(channel="fan_out").exists()

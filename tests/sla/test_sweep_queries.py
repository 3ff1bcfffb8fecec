"""A sweep batch costs the same number of queries for 2 breaches as for 6: recipients and
escalation lists are read once per batch, not once per breach."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import OutboxMessage
from sla.sweep import sla_sweep
from tests.sla.conftest import MONDAY_10AM

pytestmark = pytest.mark.django_db


def _sweep_queries(hand_off, count: int, week: int) -> int:
    for _ in range(count):
        hand_off(at=MONDAY_10AM + timedelta(days=7 * week))
    with CaptureQueriesContext(connection) as captured:
        result = sla_sweep(now=MONDAY_10AM + timedelta(days=7 * week + 1), batch_size=100)
    assert result.breached == count
    assert result.notified == count
    return len(captured)


def test_breach_notices_cost_the_same_queries_for_more_breaches(hand_off, accept_policy):
    few = _sweep_queries(hand_off, 2, week=0)
    many = _sweep_queries(hand_off, 6, week=1)

    assert many == few
    assert OutboxMessage.objects.count() > 0

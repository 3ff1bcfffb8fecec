"""Query plans behind the dashboard's SLA clock figures (PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.periods import Period
from sla.metrics.compute import MetricFilter, attention_figures
from sla.models import SlaClock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _without_seqscan() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")


def test_clocks_needing_attention_are_found_from_two_partial_indexes():
    _without_seqscan()
    plan = SlaClock.objects.needs_attention(timezone.now()).order_by("due_at").explain()
    assert "slaclock_open_risk_idx" in plan, plan
    assert "slaclock_breached_waiting_idx" in plan, plan


def test_the_dashboards_late_and_at_risk_counts_each_read_one_partial_index():
    """Breached and waiting, open past due, open at risk: each count reads its own partial
    index, the at-risk one without the table (the index carries the due time)."""
    _without_seqscan()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_bitmapscan = off")
    now = timezone.now()
    everything = MetricFilter(period=Period(first=None, last=now.date(), zone="UTC"))
    with CaptureQueriesContext(connection) as captured:
        attention_figures(everything, now)
    (statement,) = [query["sql"] for query in captured.captured_queries]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {statement}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "slaclock_breached_waiting_idx" in plan, plan
    assert "slaclock_open_due_idx" in plan, plan
    assert "Index Only Scan using slaclock_open_risk_idx" in plan, plan

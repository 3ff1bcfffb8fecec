"""Query plans behind the dashboard's SLA clock figures (PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

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

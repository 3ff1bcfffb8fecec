"""The request path never fails or waits for the broker, and clocks keep queries flat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from kombu.exceptions import OperationalError

from crm.outbox import send_hint
from leads.services.transitions import lead_accept
from tests.sla.conftest import MONDAY_10AM

pytestmark = pytest.mark.django_db


class BrokerDown:
    """Stands in for the broker connection only: publishing fails as a dead Redis does."""

    name = "crm.tasks.drain_outbox"
    calls = 0

    def apply_async(self, **_: object) -> None:
        self.calls += 1
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_a_broker_that_is_down_never_fails_the_change(settings, caplog):
    settings.OUTBOX_ENQUEUE_HINTS = True
    task = BrokerDown()
    send_hint(task)
    assert task.calls == 1
    assert "beat will pick the work up" in caplog.text


def test_lead_changes_keep_a_flat_query_count_as_clocks_pile_up(
    hand_off, accept_policy, touch_policy, sales_rep, django_assert_max_num_queries
):
    for day in range(6):
        hand_off(at=MONDAY_10AM + timedelta(days=day))
    lead = hand_off(at=MONDAY_10AM + timedelta(days=7))
    with django_assert_max_num_queries(12):
        lead_accept(lead=lead, actor=sales_rep, now=MONDAY_10AM + timedelta(days=7, hours=1))

"""The request path never fails or waits for the broker, and clocks keep queries flat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from kombu.exceptions import OperationalError

from crm import outbox
from crm.celery import app as celery_app
from crm.outbox import DRAIN_TASK, send_hint
from leads.services.transitions import lead_accept
from sla.clocks import NOTIFY_BREACHES_TASK
from tests.sla.conftest import MONDAY_10AM

pytestmark = pytest.mark.django_db


class BrokerDown:
    """Stands in for the broker only: publishing fails as a dead Redis does."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send_task(self, name: str, **_: object) -> None:
        self.sent.append(name)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_a_broker_that_is_down_never_fails_the_change(settings, caplog, monkeypatch):
    settings.OUTBOX_ENQUEUE_HINTS = True
    outbox.hint_breaker.reset()
    broker = BrokerDown()
    monkeypatch.setattr(celery_app, "send_task", broker.send_task)
    send_hint(DRAIN_TASK)
    assert broker.sent == ["crm.tasks.drain_outbox"]
    assert "beat will pick the work up" in caplog.text


def test_hints_name_tasks_the_worker_knows(settings, monkeypatch):
    """Domain code sends hints by task name; each name is a task the worker registered."""
    settings.OUTBOX_ENQUEUE_HINTS = True
    outbox.hint_breaker.reset()
    sent: list[str] = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, **_: sent.append(name))
    send_hint(DRAIN_TASK)
    send_hint(NOTIFY_BREACHES_TASK)
    assert sent == [DRAIN_TASK, NOTIFY_BREACHES_TASK]
    celery_app.loader.import_default_modules()
    assert set(sent) <= set(celery_app.tasks)


def test_lead_changes_keep_a_flat_query_count_as_clocks_pile_up(
    hand_off, accept_policy, touch_policy, sales_rep, django_assert_max_num_queries
):
    for day in range(6):
        hand_off(at=MONDAY_10AM + timedelta(days=day))
    lead = hand_off(at=MONDAY_10AM + timedelta(days=7))
    with django_assert_max_num_queries(12):
        lead_accept(lead=lead, actor=sales_rep, now=MONDAY_10AM + timedelta(days=7, hours=1))

"""After a failed publish, hints pause for a few seconds: a dead or black-holed broker costs
one request a delay, not every request."""

from __future__ import annotations

import pytest
from kombu.exceptions import OperationalError

from crm import circuit, outbox
from crm.celery import app as celery_app


class DeadBroker:
    """Stands in for the broker only: publishing fails as a dead Redis does."""

    def __init__(self) -> None:
        self.calls = 0

    def send_task(self, name: str, **_: object) -> None:
        self.calls += 1
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


@pytest.fixture
def dead_broker(monkeypatch) -> DeadBroker:
    broker = DeadBroker()
    monkeypatch.setattr(celery_app, "send_task", broker.send_task)
    outbox.hint_breaker.reset()
    return broker


def test_hints_pause_after_a_failed_publish_then_try_again(settings, monkeypatch, dead_broker):
    settings.OUTBOX_ENQUEUE_HINTS = True
    clock = [1000.0]
    monkeypatch.setattr(circuit.time, "monotonic", lambda: clock[0])

    outbox.send_hint(outbox.DRAIN_TASK)
    outbox.send_hint(outbox.DRAIN_TASK)
    clock[0] += outbox.HINT_BACKOFF_SECONDS - 0.1
    outbox.send_hint(outbox.DRAIN_TASK)
    assert dead_broker.calls == 1

    clock[0] += 0.2
    outbox.send_hint(outbox.DRAIN_TASK)
    assert dead_broker.calls == 2


def test_no_hint_is_published_when_hints_are_off(settings, dead_broker):
    settings.OUTBOX_ENQUEUE_HINTS = False
    outbox.send_hint(outbox.DRAIN_TASK)
    assert dead_broker.calls == 0

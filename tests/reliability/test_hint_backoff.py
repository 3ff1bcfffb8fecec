"""After a failed publish, hints pause for a few seconds: a dead or black-holed broker costs
one request a delay, not every request."""

from __future__ import annotations

from kombu.exceptions import OperationalError

from crm import outbox


class DeadBroker:
    name = "crm.tasks.drain_outbox"

    def __init__(self) -> None:
        self.calls = 0

    def apply_async(self, **_: object) -> None:
        self.calls += 1
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_hints_pause_after_a_failed_publish_then_try_again(settings, monkeypatch):
    settings.OUTBOX_ENQUEUE_HINTS = True
    monkeypatch.setattr(outbox, "_hints_paused_until", 0.0)
    clock = [1000.0]
    monkeypatch.setattr(outbox.time, "monotonic", lambda: clock[0])
    task = DeadBroker()

    outbox.send_hint(task)
    outbox.send_hint(task)
    clock[0] += outbox.HINT_BACKOFF_SECONDS - 0.1
    outbox.send_hint(task)
    assert task.calls == 1

    clock[0] += 0.2
    outbox.send_hint(task)
    assert task.calls == 2


def test_no_hint_is_published_when_hints_are_off(settings, monkeypatch):
    settings.OUTBOX_ENQUEUE_HINTS = False
    monkeypatch.setattr(outbox, "_hints_paused_until", 0.0)
    task = DeadBroker()
    outbox.send_hint(task)
    assert task.calls == 0

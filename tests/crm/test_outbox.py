"""Writing the outbox: one row per delivery key, whatever is written twice; and each
channel is delivered by the handler `settings.OUTBOX_HANDLERS` names."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.utils import timezone

from crm.models import OutboxChannel, OutboxMessage
from crm.outbox import Delivery, outbox_drain, outbox_write

pytestmark = pytest.mark.django_db

delivered: list[str] = []


def deliver_to_list(message: OutboxMessage, now: datetime) -> None:
    delivered.append(message.delivery_key)


def test_every_channel_names_a_handler_that_imports(settings):
    from django.utils.module_loading import import_string

    assert set(settings.OUTBOX_HANDLERS) == set(OutboxChannel.values)
    for path in settings.OUTBOX_HANDLERS.values():
        assert callable(import_string(path)), path


def test_the_drain_calls_the_handler_named_for_the_channel(settings):
    settings.OUTBOX_HANDLERS = {
        **settings.OUTBOX_HANDLERS,
        OutboxChannel.EMAIL: f"{__name__}.deliver_to_list",
    }
    now = timezone.now()
    outbox_write(
        [
            Delivery(
                channel=OutboxChannel.EMAIL,
                delivery_key="handler-test:1",
                event_type="test",
                payload={"title": "t"},
                target="someone@example.com",
            )
        ],
        now=now,
    )
    delivered.clear()
    result = outbox_drain(now=now)
    assert (result.sent, delivered) == (1, ["handler-test:1"])
    assert OutboxMessage.objects.get().status == OutboxMessage.Status.SENT


def test_a_delivery_key_written_twice_keeps_the_first_row(sales_rep):
    now = timezone.now()
    key = "write-test:" + "k" * 300

    def delivery(title: str) -> Delivery:
        return Delivery(
            channel=OutboxChannel.IN_APP,
            delivery_key=key,
            event_type="test",
            payload={"title": title, "data": {"n": 1, "none": None, "text": "é\"'"}},
            recipient_id=sales_rep.pk,
        )

    assert outbox_write([delivery("first")], now=now) == 1
    outbox_write([delivery("second"), delivery("third")], now=now)
    message = OutboxMessage.objects.get()
    assert message.delivery_key == key[:200]
    assert message.payload == {"title": "first", "data": {"n": 1, "none": None, "text": "é\"'"}}
    assert (message.channel, message.recipient_id, message.target, message.event_type) == (
        "in_app",
        sales_rep.pk,
        "",
        "test",
    )
    assert (message.status, message.attempts, message.next_attempt_at, message.created_at) == (
        "pending",
        0,
        now,
        now,
    )
    assert (message.claimed_until, message.sent_at, message.last_error) == (None, None, "")


def test_writing_no_deliveries_writes_nothing():
    assert outbox_write([], now=timezone.now()) == 0
    assert not OutboxMessage.objects.exists()

"""A fan-out row stands for an event's deliveries: the drain expands it with the handler named
in settings.OUTBOX_HANDLERS, writes what it stood for and marks it sent in one transaction,
then delivers the result in the same call. Each delivery is written once, however often a
fan-out is expanded."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from django.utils import timezone

from crm.models import Notification, OutboxChannel, OutboxMessage
from crm.outbox import Delivery, outbox_drain, outbox_drain_lane, outbox_write

pytestmark = pytest.mark.django_db


def expand(messages: Sequence[OutboxMessage]) -> list[Delivery]:
    """Each person named in the row, in-app; a webhook when the row asks for one."""
    deliveries = []
    for message in messages:
        event = message.payload["event"]
        if event < 0:
            raise ValueError("an event this handler cannot read")
        for person in message.payload["people"]:
            deliveries.append(
                Delivery(
                    channel=OutboxChannel.IN_APP,
                    delivery_key=f"event:{event}:in_app:{person}",
                    event_type="test.event",
                    payload={"title": f"Event {event}"},
                    recipient_id=person,
                )
            )
        if message.payload["hook"]:
            deliveries.append(
                Delivery(
                    channel=OutboxChannel.WEBHOOK,
                    delivery_key=f"event:{event}:webhook",
                    event_type="test.event",
                    payload={},
                    target="1",
                )
            )
    return deliveries


@pytest.fixture(autouse=True)
def expander(settings):
    settings.OUTBOX_HANDLERS = {
        **settings.OUTBOX_HANDLERS,
        OutboxChannel.FAN_OUT: f"{__name__}.expand",
    }


def write_fan_outs(events: dict[int, list[int]], *, hook: bool = False) -> None:
    """One fan-out row per event, naming who its expansion tells."""
    outbox_write(
        [
            Delivery(
                channel=OutboxChannel.FAN_OUT,
                delivery_key=f"event:{event}:fan_out",
                event_type="test.fan_out",
                payload={"event": event, "people": people, "hook": hook},
            )
            for event, people in events.items()
        ],
        now=timezone.now() - timedelta(seconds=1),
    )


def _delivered() -> set[tuple[str, int]]:
    return set(Notification.objects.values_list("delivery_key", "user_id"))


def test_it_writes_a_fan_out_twice_as_one_row(sales_rep):
    write_fan_outs({1: [sales_rep.pk]})
    write_fan_outs({1: [sales_rep.pk]})
    assert OutboxMessage.objects.filter(channel=OutboxChannel.FAN_OUT).count() == 1


def test_one_drain_expands_and_delivers_what_a_fan_out_stood_for(sales_rep, manager):
    write_fan_outs({1: [sales_rep.pk, manager.pk], 2: [manager.pk]})

    result = outbox_drain()

    assert (result.expanded, result.sent) == (2, 3)
    assert _delivered() == {
        ("event:1:in_app:" + str(sales_rep.pk), sales_rep.pk),
        ("event:1:in_app:" + str(manager.pk), manager.pk),
        ("event:2:in_app:" + str(manager.pk), manager.pk),
    }
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}


def test_a_fan_out_expanded_again_doubles_nothing(sales_rep, manager):
    write_fan_outs({1: [sales_rep.pk, manager.pk]})
    outbox_drain()
    # A drain whose lease ran out mid-expansion: another drain expands the row again.
    OutboxMessage.objects.filter(channel=OutboxChannel.FAN_OUT).update(status="pending")

    assert outbox_drain().expanded == 1
    assert OutboxMessage.objects.exclude(channel=OutboxChannel.FAN_OUT).count() == 2
    assert Notification.objects.count() == 2


def test_a_fan_out_that_cannot_be_expanded_is_retried_without_holding_back_the_rest(
    sales_rep, settings
):
    settings.OUTBOX_RETRY_BASE_SECONDS = 30
    write_fan_outs({-1: [sales_rep.pk], 2: [sales_rep.pk]})

    result = outbox_drain()

    assert (result.expanded, result.retried, result.sent) == (1, 1, 1)
    bad = OutboxMessage.objects.get(delivery_key="event:-1:fan_out")
    assert (bad.status, bad.attempts) == ("pending", 1)
    assert "cannot read" in bad.last_error
    # Nothing of the bad row was written: its expansion rolled back whole.
    assert _delivered() == {(f"event:2:in_app:{sales_rep.pk}", sales_rep.pk)}


def test_the_notices_lane_expands_fan_outs_and_leaves_webhooks_to_their_lane(sales_rep):
    write_fan_outs({n: [sales_rep.pk] for n in range(1, 1501)}, hook=True)

    result, more = outbox_drain_lane(lane="notices", budget_seconds=50)

    assert (result.expanded, result.sent, more) == (1500, 1500, False)
    assert Notification.objects.count() == 1500
    webhooks = OutboxMessage.objects.filter(channel=OutboxChannel.WEBHOOK)
    assert (webhooks.count(), webhooks.filter(status="pending", attempts=0).count()) == (1500, 1500)

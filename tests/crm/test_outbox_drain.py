"""The outbox drains while messages are due (not 200 a minute), writes in-app notifications
in sets, and a slow webhook lane never holds back notices and emails."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from crm.models import Notification, OutboxChannel, OutboxMessage
from crm.outbox import Delivery, outbox_drain, outbox_drain_lane, outbox_write
from crm.tasks import drain_outbox

pytestmark = pytest.mark.django_db


def write_notices(user, count: int, *, channel: str = OutboxChannel.IN_APP, start: int = 0):
    outbox_write(
        [
            Delivery(
                channel=channel,
                delivery_key=f"drain-test:{channel}:{n}",
                event_type="test",
                payload={"title": f"Notice {n}", "body": "b", "url": "/"},
                recipient_id=user.pk,
                target=user.email if channel == OutboxChannel.EMAIL else "",
            )
            for n in range(start, start + count)
        ],
        now=timezone.now() - timedelta(seconds=1),
    )


def test_one_drain_task_keeps_going_while_messages_are_due(sales_rep):
    write_notices(sales_rep, 2500)
    write_notices(sales_rep, 300, channel=OutboxChannel.EMAIL)
    assert drain_outbox() == 2800
    assert Notification.objects.filter(user=sales_rep).count() == 2500
    assert len(mail.outbox) == 300
    assert not OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).exists()


def test_a_drain_out_of_time_says_that_work_is_left(sales_rep):
    write_notices(sales_rep, 2500)
    ticks = iter(range(0, 1000, 30))
    result, more = outbox_drain_lane(lane="notices", budget_seconds=45, clock=lambda: next(ticks))
    assert (result.sent, more) == (2000, True)
    assert OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).count() == 500


def test_in_app_notifications_are_written_in_sets(sales_rep, django_assert_max_num_queries):
    write_notices(sales_rep, 1000)
    # claim (select, update), load, insert the set, mark it sent; plus savepoints
    with django_assert_max_num_queries(9):
        result = outbox_drain(limit=1000)
    assert result.sent == 1000
    titles = set(Notification.objects.values_list("title", flat=True))
    assert titles == {f"Notice {n}" for n in range(1000)}


def test_a_notice_delivered_before_a_lost_claim_is_not_doubled(sales_rep):
    write_notices(sales_rep, 3)
    first = OutboxMessage.objects.order_by("id").first()
    Notification.objects.create(
        user=sales_rep,
        kind="test",
        title="Notice 0",
        delivery_key=first.delivery_key,
        created_at=timezone.now(),
    )
    assert outbox_drain().sent == 3
    assert Notification.objects.count() == 3


def test_the_notices_lane_never_waits_for_webhooks(sales_rep, settings):
    settings.OUTBOX_HANDLERS = {
        **settings.OUTBOX_HANDLERS,
        OutboxChannel.WEBHOOK: f"{__name__}.never_called",
    }
    outbox_write(
        [
            Delivery(
                channel=OutboxChannel.WEBHOOK,
                delivery_key="drain-test:webhook",
                event_type="test",
                payload={},
                target="1",
            )
        ],
        now=timezone.now() - timedelta(seconds=1),
    )
    write_notices(sales_rep, 5)
    result, more = outbox_drain_lane(lane="notices", budget_seconds=50)
    assert (result.sent, more) == (5, False)
    webhook = OutboxMessage.objects.get(channel=OutboxChannel.WEBHOOK)
    assert (webhook.status, webhook.attempts) == ("pending", 0)


def never_called(message: OutboxMessage, now: object) -> None:
    raise AssertionError("the notices lane delivered a webhook")

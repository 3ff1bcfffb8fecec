"""The outbox backlog: 100,000 pending in-app and e-mail messages (mail to the in-memory
backend), drained by the notices lane as a worker's drain task would. Target: within two
minutes (the drain delivered about 200 a minute before it worked in sets)."""

from __future__ import annotations

import time

from django.test.utils import override_settings
from django.utils import timezone

from bench.report import Row, fmt, verdict
from crm.models import Notification, OutboxChannel, OutboxMessage
from crm.outbox import Delivery, outbox_drain_lane, outbox_write

BACKLOG = 100_000
EMAIL_SHARE = 5  # one message in five is an e-mail
CHUNK = 10_000
TARGET_SECONDS = 120


def _write_backlog(recipients: list[int], total: int) -> None:
    now = timezone.now()
    for start in range(0, total, CHUNK):
        outbox_write(
            [
                Delivery(
                    channel=OutboxChannel.EMAIL if n % EMAIL_SHARE == 0 else OutboxChannel.IN_APP,
                    delivery_key=f"bench-backlog:{now.timestamp()}:{n}",
                    event_type="bench.notice",
                    payload={"title": f"Notice {n}", "body": "A lead waits.", "url": "/"},
                    recipient_id=recipients[n % len(recipients)],
                    target=f"rep{n % len(recipients)}@bench.example",
                )
                for n in range(start, min(start + CHUNK, total))
            ],
            now=now,
        )


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def outbox_rows(recipients: list[int], total: int = BACKLOG) -> list[Row]:
    OutboxMessage.objects.filter(event_type="bench.notice").delete()
    Notification.objects.filter(kind="bench.notice").delete()
    _write_backlog(recipients, total)
    began = time.perf_counter()
    result, more = outbox_drain_lane(lane="notices", budget_seconds=10 * TARGET_SECONDS)
    took = time.perf_counter() - began
    left = OutboxMessage.objects.filter(
        event_type="bench.notice", status=OutboxMessage.Status.PENDING
    ).count()
    ok = took <= TARGET_SECONDS and left == 0 and not more
    return [
        Row(
            "outbox",
            f"{total:,} pending in-app and e-mail messages drained",
            fmt(took, " s"),
            target=f"<= {TARGET_SECONDS} s, none left",
            verdict=verdict(ok),
            raw={"seconds": took, "sent": result.sent, "left": left, "per_second": total / took},
        ),
        Row("outbox", "  delivery rate", fmt(total / took, " msg/s")),
    ]

"""The outbox: a backlog of 100,000 pending in-app and e-mail messages (mail to the in-memory
backend), drained by the notices lane as a worker's drain task would (target: within two
minutes; the drain delivered about 200 a minute before it worked in sets); then the sweep's
breach fan-outs (one outbox row per breach) expanded into every recipient's delivery and
delivered by the same lane, beside the backlog's rate of the same run."""

from __future__ import annotations

import time

from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone

from bench.report import Row, fmt, ratio, verdict
from crm.models import Notification, OutboxChannel, OutboxMessage
from crm.outbox import Delivery, outbox_drain_lane, outbox_write
from sla.escalation import breach_fan_outs
from sla.models import Breach

BACKLOG = 100_000
EMAIL_SHARE = 5  # one message in five is an e-mail
CHUNK = 10_000
TARGET_SECONDS = 120
FAN_OUTS = 10_000
# Expanding builds and inserts each delivery, which the backlog had done before its timing
# began: that should cost at most half of delivering it, so the rate stays above two thirds.
FAN_OUT_SHARE_OF_BACKLOG_RATE = 2 / 3


def _empty_outbox() -> None:
    """Each measure starts from an empty outbox: what earlier sweeps queued (with `--reuse`)
    would otherwise be drained inside it."""
    tables = (OutboxMessage._meta.db_table, Notification._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)}")


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
    _empty_outbox()
    _write_backlog(recipients, total)
    began = time.perf_counter()
    result, more = outbox_drain_lane(lane="notices", budget_seconds=10 * TARGET_SECONDS)
    took = time.perf_counter() - began
    left = OutboxMessage.objects.filter(
        event_type="bench.notice", status=OutboxMessage.Status.PENDING
    ).count()
    ok = took <= TARGET_SECONDS and left == 0 and not more
    rate = total / took
    return [
        Row(
            "outbox",
            f"{total:,} pending in-app and e-mail messages drained",
            fmt(took, " s"),
            target=f"<= {TARGET_SECONDS} s, none left",
            verdict=verdict(ok),
            raw={"seconds": took, "sent": result.sent, "left": left, "per_second": rate},
        ),
        Row("outbox", "  delivery rate", fmt(rate, " msg/s")),
        *fan_out_rows(rate),
    ]


def fan_out_rows(backlog_rate: float, total: int = FAN_OUTS) -> list[Row]:
    """`total` breaches (the latest) queued as the sweep's notify step queues them, one fan-out
    row each; then the notices lane, timed, expands them with `sla.escalation` (who hears, on
    which channels) and delivers the in-app messages and e-mails. Webhooks are their own
    lane's work and are not timed here."""
    _empty_outbox()
    ids = list(Breach.objects.order_by("-pk").values_list("pk", flat=True)[:total])
    outbox_write(breach_fan_outs(ids), now=timezone.now())
    began = time.perf_counter()
    result, more = outbox_drain_lane(lane="notices", budget_seconds=10 * TARGET_SECONDS)
    took = time.perf_counter() - began
    left = OutboxMessage.objects.filter(
        channel__in=[OutboxChannel.FAN_OUT, OutboxChannel.IN_APP, OutboxChannel.EMAIL],
        status=OutboxMessage.Status.PENDING,
    ).count()
    rate = result.sent / took
    floor = FAN_OUT_SHARE_OF_BACKLOG_RATE * backlog_rate
    return [
        Row(
            "outbox",
            f"{len(ids):,} breaches' fan-outs expanded, {result.sent:,} in-app and e-mail "
            "messages delivered",
            fmt(took, " s"),
            f"backlog {fmt(backlog_rate, ' msg/s')}",
            ratio(rate, backlog_rate, higher_is_better=True),
            f">= {FAN_OUT_SHARE_OF_BACKLOG_RATE:.0%} of backlog rate, none left",
            verdict(rate >= floor and left == 0 and not more),
            raw={
                "seconds": took,
                "breaches": len(ids),
                "expanded": result.expanded,
                "sent": result.sent,
                "left": left,
                "per_second": rate,
                "breaches_per_second": len(ids) / took,
            },
        ),
        Row(
            "outbox",
            "  expansion and delivery rate",
            f"{fmt(len(ids) / took, ' breaches/s')}, {fmt(rate, ' msg/s')}",
        ),
    ]

"""Follow-ups: a lead's next step with a due day tells its owner when that day comes.

The notice is an outbox row keyed by lead and due day, so the periodic run may find the same
follow-up again and again (or twice at once) and the person is still told once; moving the
day tells them again on the new day.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.urls import reverse
from django.utils import timezone

from crm.models import OutboxChannel
from crm.outbox import Delivery, outbox_write
from leads.models import Lead

FOLLOW_UP_EVENT = "lead.follow_up_due"
# How far back a run still tells of a missed day (a worker down over a long weekend).
LOOK_BACK = timedelta(days=7)
BATCH = 1000


def followups_notify(*, now: datetime | None = None) -> int:
    """Write a notice for each open lead whose next step is due today (or was due in the last
    week) to its owner; returns how many notices were written (repeats included)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    due = (
        Lead.objects.open()
        .filter(
            owner__isnull=False,
            next_step_due__lte=today,
            next_step_due__gte=today - LOOK_BACK,
        )
        .only("pk", "first_name", "last_name", "email", "owner_id", "next_step", "next_step_due")
        .order_by("next_step_due", "id")[:BATCH]
    )
    return outbox_write(
        (
            Delivery(
                channel=OutboxChannel.IN_APP,
                delivery_key=f"follow-up:{lead.pk}:{lead.next_step_due.isoformat()}",
                event_type=FOLLOW_UP_EVENT,
                payload={
                    "title": f"Follow-up due: {lead}",
                    "body": lead.next_step or "The next step is due.",
                    "url": reverse("leads:detail", args=[lead.pk]),
                },
                recipient_id=lead.owner_id,
            )
            for lead in due
        ),
        now=now,
    )

"""E-mail digests: for a person who chose one, the notification e-mails of an hour or a day
gathered into one mail.

The drain holds such a person's e-mails (status `held`) instead of sending them. A beat task
then writes, per person and per digest slot (the top of the hour, or the day's chosen hour in
the person's zone), one digest e-mail to the outbox with the delivery key
`digest:<user>:<slot>`, and marks the mails it gathers `digested`, in one transaction: a second
run, or two at once, find nothing left to gather or the key taken, so each person gets one
digest per slot. A mail held after its slot's digest went out waits for the next slot.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from crm.models import EmailDigest, OutboxChannel, OutboxMessage, OutboxStatus, User
from crm.notifications import DIGEST_EVENT
from crm.outbox import outbox_drain_soon

# Items listed in one digest; the rest are counted and read on the notifications page.
DIGEST_ITEMS_SHOWN = 100


def digest_slot(user: User, now: datetime) -> datetime:
    """The latest digest time at or before `now` in the person's zone: the top of the hour
    (also for someone who went back to one mail per event with mails still held), or today's
    chosen hour (yesterday's, before it)."""
    zone = ZoneInfo(user.time_zone or settings.TIME_ZONE)
    local = now.astimezone(zone)
    if user.email_digest != EmailDigest.DAILY:
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.date()
    slot = datetime.combine(day, time(user.email_digest_hour), tzinfo=zone)
    if slot > local:
        slot = datetime.combine(day - timedelta(days=1), time(user.email_digest_hour), tzinfo=zone)
    return slot


def digest_key(user: User, slot: datetime) -> str:
    return f"digest:{user.pk}:{slot.astimezone(ZoneInfo('UTC')):%Y-%m-%dT%H:%M}"


def email_digests_send(*, now: datetime | None = None) -> int:
    """Beat: write the digest of every person whose slot has mails held from before it;
    returns how many digests were written."""
    now = now or timezone.now()
    waiting = (
        OutboxMessage.objects.filter(status=OutboxStatus.HELD)
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    written = 0
    for user in User.objects.filter(pk__in=list(waiting)).order_by("pk"):
        if _digest_write(user, now=now):
            written += 1
    if written:
        outbox_drain_soon(["notices"])
    return written


def _digest_write(user: User, *, now: datetime) -> bool:
    slot = digest_slot(user, now)
    key = digest_key(user, slot)
    try:
        with transaction.atomic():
            held = list(
                OutboxMessage.objects.select_for_update()
                .filter(recipient=user, status=OutboxStatus.HELD, created_at__lt=slot)
                .order_by("created_at", "id")
            )
            if not held or not user.email:
                return False
            if OutboxMessage.objects.filter(delivery_key=key).exists():
                return False  # this slot's digest went out: these wait for the next one
            OutboxMessage.objects.create(
                channel=OutboxChannel.EMAIL,
                delivery_key=key,
                recipient=user,
                target=user.email,
                event_type=DIGEST_EVENT,
                payload=_digest_payload(user, slot, held),
                next_attempt_at=now,
                created_at=now,
            )
            OutboxMessage.objects.filter(pk__in=[m.pk for m in held]).update(
                status=OutboxStatus.DIGESTED, sent_at=now, claimed_until=None
            )
    except IntegrityError:
        return False  # another run wrote this slot's digest first; its mails wait
    return True


def _digest_payload(user: User, slot: datetime, held: list[OutboxMessage]) -> dict[str, Any]:
    newest_first = held[::-1]
    items = [
        {
            "kind": m.event_type,
            "title": m.payload.get("title", ""),
            "body": m.payload.get("body", ""),
            "url": m.payload.get("url", ""),
            "data": m.payload.get("data") or {},
        }
        for m in newest_first[:DIGEST_ITEMS_SHOWN]
    ]
    count = len(held)
    period = {EmailDigest.DAILY: "day", EmailDigest.HOURLY: "hour"}.get(user.email_digest, "hour")
    return {
        "title": f"Handoff: {count} notification{'s' if count != 1 else ''} this {period}",
        "url": reverse("sla:notifications"),
        "slot": slot.isoformat(),
        "count": count,
        "items": items,
    }

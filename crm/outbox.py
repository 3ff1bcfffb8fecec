"""The outbox: deliveries written with the change that causes them, drained after commit.

A row is claimed with a short lease before it is delivered, so two drains never send one row
at once and a worker killed mid-delivery only delays it until the lease runs out. In-app
notifications are delivered exactly once (a unique key on Notification); email and webhooks
at least once, with the delivery key in the message so that a receiver can drop a repeat.

Each channel's sender is named in `settings.OUTBOX_HANDLERS` (the webhook sender lives in the
SLA app, which crm must not import), and work is handed to a worker as a hint: a task sent by
name, never by importing the tasks module, which is interface code.

A fan-out row stands for all the deliveries of one event (a breach: its people, channels and
endpoints), so that whoever causes the event writes one row and never decides who hears. The
drain expands a batch of them first, with the handler named for the `fan_out` channel: the
deliveries written and the fan-out rows marked sent in one transaction, so each delivery is
written once (its key is unique) and then drained like any other.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import Count, F, Min, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from crm.circuit import Breaker
from crm.models import Notification, OutboxChannel, OutboxMessage, User
from crm.notifications import (
    ALL_KINDS,
    DIGEST_EVENT,
    EMAIL_KINDS,
    holds_for_digest,
    kind_label,
    notice_for,
    unsubscribe_token,
)

logger = logging.getLogger("handoff.outbox")

LEASE = timedelta(seconds=120)  # default for OUTBOX_LEASE_SECONDS; above the webhook timeout
MAX_ATTEMPTS = 8
# The task a drain hint wakes (registered by crm.tasks under this name).
DRAIN_TASK = "crm.tasks.drain_outbox"


@dataclass(frozen=True)
class Delivery:
    """One message to write to the outbox."""

    channel: str
    delivery_key: str
    event_type: str
    payload: dict[str, Any]
    recipient_id: int | None = None
    target: str = ""


@dataclass
class DrainResult:
    sent: int = 0
    held: int = 0  # e-mails waiting for their reader's digest (crm.digest)
    retried: int = 0
    failed: int = 0
    expanded: int = 0  # fan-out rows turned into their deliveries (not counted in `sent`)
    keys: list[str] = field(default_factory=list)


def outbox_write(deliveries: Iterable[Delivery], *, now: datetime) -> int:
    """Insert deliveries in the caller's transaction; a key already present is left alone."""
    rows = list(deliveries)
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        _insert_as_arrays(rows, now)
    else:
        OutboxMessage.objects.bulk_create(
            [
                OutboxMessage(
                    channel=d.channel,
                    delivery_key=d.delivery_key[:200],
                    event_type=d.event_type,
                    payload=d.payload,
                    recipient_id=d.recipient_id,
                    target=d.target,
                    next_attempt_at=now,
                    created_at=now,
                )
                for d in rows
            ],
            ignore_conflicts=True,
        )
    outbox_drain_soon(lanes_of(d.channel for d in rows))
    return len(rows)


def _insert_as_arrays(rows: list[Delivery], now: datetime) -> None:
    """`bulk_create(ignore_conflicts=True)` as one INSERT ... SELECT FROM unnest(one array per
    column). The sweep's notify step writes thousands of messages a batch (the bench's sweep
    rows, "then notified"), and building them as model instances and compiling their
    parameters took longer than the insert itself."""
    columns = ("channel", "delivery_key", "recipient_id", "target", "event_type", "payload")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {OutboxMessage._meta.db_table} ({', '.join(columns)}, status, "
            "attempts, next_attempt_at, claimed_until, last_error, created_at, sent_at) "
            "SELECT channel, delivery_key, recipient_id, target, event_type, payload::jsonb, "
            "%s, 0, %s, NULL, '', %s, NULL "
            "FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[]) "
            f"AS d({', '.join(columns)}) ON CONFLICT (delivery_key) DO NOTHING",
            [
                OutboxMessage.Status.PENDING.value,
                now,
                now,
                [d.channel for d in rows],
                [d.delivery_key[:200] for d in rows],
                [d.recipient_id for d in rows],
                [d.target for d in rows],
                [d.event_type for d in rows],
                [json.dumps(d.payload) for d in rows],
            ],
        )


# After a failed publish, hints are skipped for this long: a broker that is down (or a
# network that swallows packets until the connect timeout) costs one request a delay, not all.
HINT_BACKOFF_SECONDS = 5.0
hint_breaker = Breaker(HINT_BACKOFF_SECONDS)


def send_hint(task_name: str, *args: Any) -> None:
    """Send the task named `task_name` as a hint. Never raises: beat re-runs whatever a lost
    hint carried."""
    if not getattr(settings, "OUTBOX_ENQUEUE_HINTS", True):
        return
    if hint_breaker.is_open():
        return
    try:
        current_app.send_task(task_name, args=args, retry=False)
    except Exception:  # the broker is down or slow: the request must not fail for it
        hint_breaker.trip()
        logger.warning("could not publish %s; beat will pick the work up", task_name)


def outbox_drain_soon(lanes: Iterable[str] | None = None) -> None:
    """Ask a worker to drain `lanes` (default: every lane) after the current transaction
    commits; one hint per lane, so each lane's task runs on its own."""
    for lane in list(lanes) if lanes is not None else list(LANES):
        transaction.on_commit(functools.partial(send_hint, DRAIN_TASK, lane))


def lease() -> timedelta:
    """How long a claimed message is left alone: a dead worker's claim runs out after this."""
    seconds = getattr(settings, "OUTBOX_LEASE_SECONDS", None)
    return timedelta(seconds=seconds) if seconds else LEASE


# Lanes drain separately, so a slow webhook receiver (seconds per attempt) never holds back
# notices and emails (thousands a second in sets). Each lane has its own batch size.
LANES: dict[str, tuple[str, ...]] = {
    "notices": (OutboxChannel.FAN_OUT, OutboxChannel.IN_APP, OutboxChannel.EMAIL),
    "webhooks": (OutboxChannel.WEBHOOK,),
}
LANE_BATCH = {"notices": 1000, "webhooks": 20}


def lanes_of(channels: Iterable[str]) -> list[str]:
    wanted = set(channels)
    return [lane for lane, members in LANES.items() if wanted & set(members)]


def outbox_drain(
    *,
    now: datetime | None = None,
    limit: int = 200,
    channels: Iterable[str] | None = None,
) -> DrainResult:
    """Deliver up to `limit` due pending messages (of `channels`, default all), claimed first;
    returns what happened. Fan-out rows among them are expanded first and the room they took
    is claimed again from what they expanded into, so one call delivers what a fan-out stood
    for (a drain without fan-outs costs no query more)."""
    now = now or timezone.now()
    result = DrainResult()
    channels = None if channels is None else list(channels)
    claimed = _claim(now=now, limit=limit, channels=channels)
    fan_outs = [m for m in claimed if m.channel == OutboxChannel.FAN_OUT]
    if fan_outs:
        _expand_set(fan_outs, now=now, result=result)
        claimed = [m for m in claimed if m.channel != OutboxChannel.FAN_OUT]
        wanted = OutboxChannel.values if channels is None else channels
        deliverable = [c for c in wanted if c != OutboxChannel.FAN_OUT]
        room = limit - len(claimed)
        if room > 0 and deliverable:
            claimed += _claim(now=now, limit=room, channels=deliverable)
    by_channel: dict[str, list[OutboxMessage]] = {}
    for message in claimed:
        by_channel.setdefault(message.channel, []).append(message)
    for channel, messages in by_channel.items():
        deliver_set = SET_DELIVERY.get(settings.OUTBOX_HANDLERS[channel])
        if deliver_set is not None:
            deliver_set(messages, now=now, result=result)
        else:
            for message in messages:
                _deliver(message, now=now, result=result)
    return result


def outbox_drain_lane(
    *, lane: str, budget_seconds: float, clock: Callable[[], float] = time.monotonic
) -> tuple[DrainResult, bool]:
    """Drain one lane batch after batch while messages are due, for at most about
    `budget_seconds`; returns the total and whether due messages were left for the next
    task (which the caller enqueues)."""
    started = clock()
    total = DrainResult()
    while True:
        batch = outbox_drain(limit=LANE_BATCH[lane], channels=LANES[lane])
        total.sent += batch.sent
        total.held += batch.held
        total.retried += batch.retried
        total.failed += batch.failed
        total.expanded += batch.expanded
        # Each claimed row is counted once (sent, held, retried, failed or expanded): fewer
        # than a batch means neither claim came back full.
        claimed = batch.sent + batch.held + batch.retried + batch.failed + batch.expanded
        if claimed < LANE_BATCH[lane]:
            return total, False
        if clock() - started >= budget_seconds:
            return total, True


def _claim(*, now: datetime, limit: int, channels: Iterable[str] | None) -> list[OutboxMessage]:
    """Lease a batch in one short transaction. On PostgreSQL `SKIP LOCKED` lets concurrent
    drains take disjoint batches instead of queueing on each other's rows; SQLite has one
    writer at a time, so the transaction alone keeps claims apart."""
    claimable = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    due = OutboxMessage.objects.filter(
        status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now
    ).filter(claimable)
    if channels is not None:
        due = due.filter(channel__in=list(channels))
    with transaction.atomic():
        ids = list(
            due.order_by("next_attempt_at", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return []
        OutboxMessage.objects.filter(pk__in=ids).update(
            claimed_until=now + lease(), attempts=F("attempts") + 1
        )
    return list(OutboxMessage.objects.filter(pk__in=ids).order_by("next_attempt_at", "id"))


def _deliver(message: OutboxMessage, *, now: datetime, result: DrainResult) -> None:
    handler = _handler(message.channel)
    try:
        if message.channel == OutboxMessage.Channel.IN_APP:
            with transaction.atomic():
                handler(message, now)
                _finish(message, now=now)
        else:
            handler(message, now)
            _finish(message, now=now)
        result.sent += 1
        result.keys.append(message.delivery_key)
    except Exception as exc:
        logger.warning("delivery %s failed: %s", message.delivery_key, exc)
        _retry_later(message, now=now, error=str(exc) or exc.__class__.__name__, result=result)


def _mark_sent(messages: list[OutboxMessage], *, now: datetime) -> None:
    OutboxMessage.objects.filter(pk__in=[m.pk for m in messages]).update(
        status=OutboxMessage.Status.SENT, sent_at=now, claimed_until=None, last_error=""
    )


def _finish_set(messages: list[OutboxMessage], *, now: datetime, result: DrainResult) -> None:
    _mark_sent(messages, now=now)
    result.sent += len(messages)
    result.keys.extend(m.delivery_key for m in messages)


def _expand_set(messages: list[OutboxMessage], *, now: datetime, result: DrainResult) -> None:
    """Claimed fan-out rows: their deliveries written (one insert) and the rows marked sent in
    one transaction. Should the set fail, each row goes alone, so one bad row is retried
    without holding back the rest."""
    expand = _resolve_expander(settings.OUTBOX_HANDLERS[OutboxChannel.FAN_OUT])
    try:
        with transaction.atomic():
            outbox_write(expand(messages), now=now)
            _mark_sent(messages, now=now)
        result.expanded += len(messages)
        return
    except Exception as exc:
        logger.warning("fan-out set of %s failed (%s); expanding one by one", len(messages), exc)
    for message in messages:
        try:
            with transaction.atomic():
                outbox_write(expand([message]), now=now)
                _mark_sent([message], now=now)
            result.expanded += 1
        except Exception as exc:
            logger.warning("fan-out %s failed: %s", message.delivery_key, exc)
            _retry_later(message, now=now, error=str(exc) or exc.__class__.__name__, result=result)


def _deliver_in_app_set(
    messages: list[OutboxMessage], *, now: datetime, result: DrainResult
) -> None:
    """The batch's notifications in one INSERT and its rows marked sent in one UPDATE, in one
    transaction (so still exactly once). Should the set fail, each message goes alone, so
    one bad row is retried without holding back the rest."""
    try:
        with transaction.atomic():
            Notification.objects.bulk_create(
                [_notification(m, now) for m in messages], ignore_conflicts=True
            )
            _finish_set(messages, now=now, result=result)
    except Exception as exc:
        logger.warning("in-app set of %s failed (%s); delivering one by one", len(messages), exc)
        for message in messages:
            _deliver(message, now=now, result=result)


def _deliver_email_set(
    messages: list[OutboxMessage], *, now: datetime, result: DrainResult
) -> None:
    """One mail connection for the batch; a refused message is retried on its own, and one
    whose reader takes a digest is held for it."""
    sent: list[OutboxMessage] = []
    readers = _readers(messages)
    held = [m for m in messages if holds_for_digest(m.event_type, readers.get(m.recipient_id))]
    if held:
        _hold(held, result=result)
    with get_connection(fail_silently=False) as connection_:
        for message in messages:
            if message in held:
                continue
            try:
                mail = _email(message, now=now, reader=readers.get(message.recipient_id))
                if mail is not None:
                    mail.connection = connection_
                    mail.send()
                sent.append(message)
            except Exception as exc:
                logger.warning("delivery %s failed: %s", message.delivery_key, exc)
                _retry_later(
                    message, now=now, error=str(exc) or exc.__class__.__name__, result=result
                )
    if sent:
        _finish_set(sent, now=now, result=result)


def _hold(messages: list[OutboxMessage], *, result: DrainResult) -> None:
    OutboxMessage.objects.filter(pk__in=[m.pk for m in messages]).update(
        status=OutboxMessage.Status.HELD, claimed_until=None, last_error=""
    )
    result.held += len(messages)


def _handler(channel: str) -> Callable[[OutboxMessage, datetime], None]:
    return _resolve(settings.OUTBOX_HANDLERS[channel])


@cache
def _resolve(path: str) -> Callable[[OutboxMessage, datetime], None]:
    return import_string(path)


@cache
def _resolve_expander(path: str) -> Callable[[list[OutboxMessage]], list[Delivery]]:
    """A fan-out handler: `(fan-out rows) -> their deliveries`, reading no more per row."""
    return import_string(path)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: base, 2x base, 4x base ... capped at six hours."""
    base = getattr(settings, "OUTBOX_RETRY_BASE_SECONDS", 30)
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 6 * 3600))


def _finish(message: OutboxMessage, *, now: datetime) -> None:
    """Mark a delivered message sent (one its handler held for a digest stays held)."""
    pending = OutboxMessage.objects.filter(pk=message.pk, status=OutboxMessage.Status.PENDING)
    pending.update(status=OutboxMessage.Status.SENT, sent_at=now, claimed_until=None, last_error="")


def _retry_later(message: OutboxMessage, *, now: datetime, error: str, result: DrainResult) -> None:
    if message.attempts >= MAX_ATTEMPTS:
        status = OutboxMessage.Status.FAILED
        result.failed += 1
    else:
        status = OutboxMessage.Status.PENDING
        result.retried += 1
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=status,
        next_attempt_at=now + retry_delay(message.attempts),
        claimed_until=None,
        last_error=error[:500],
    )


def _notification(message: OutboxMessage, now: datetime) -> Notification:
    payload = message.payload
    return Notification(
        delivery_key=message.delivery_key,
        user_id=message.recipient_id,
        kind=message.event_type,
        title=payload.get("title", "")[:200],
        body=payload.get("body", ""),
        url=payload.get("url", "")[:300],
        data=payload.get("data") or {},
        created_at=now,
    )


def deliver_in_app(message: OutboxMessage, now: datetime) -> None:
    notification = _notification(message, now)
    Notification.objects.get_or_create(
        delivery_key=notification.delivery_key,
        defaults={
            "user_id": notification.user_id,
            "kind": notification.kind,
            "title": notification.title,
            "body": notification.body,
            "url": notification.url,
            "data": notification.data,
            "created_at": now,
        },
    )


def _readers(messages: list[OutboxMessage]) -> dict[int, User]:
    """The recipients of a batch of mails, with what their mail needs: one query."""
    ids = {m.recipient_id for m in messages if m.recipient_id}
    fields = (
        "time_zone",
        "email_muted_kinds",
        "email_digest",
        "first_name",
        "last_name",
        "username",
    )
    return User.objects.only(*fields).in_bulk(ids) if ids else {}


def _email(
    message: OutboxMessage, *, now: datetime, reader: User | None
) -> EmailMultiAlternatives | None:
    """A plain-text and an HTML part, in the reader's words and zone, linking to SITE_URL,
    with a List-ID and a link that stops this kind of mail; None when the reader muted the
    kind (they still read it in the app)."""
    if reader is not None and message.event_type in reader.email_muted_kinds:
        return None
    payload = message.payload
    site = settings.SITE_URL
    digest = message.event_type == DIGEST_EVENT
    context: dict[str, Any] = {
        "title": payload.get("title", "Handoff"),
        "body": payload.get("body", ""),
        "link": _absolute(payload.get("url", "")),
        "notice": notice_for(Notification(data=payload.get("data") or {}), now=now),
        "reader": reader,
        "site": site,
        "unsubscribe": "",
        "kind_label": kind_label(ALL_KINDS) if digest else EMAIL_KINDS.get(message.event_type, ""),
    }
    if digest:
        context["items"] = [
            {
                **item,
                "link": _absolute(item.get("url", "")),
                "notice": notice_for(Notification(data=item.get("data") or {}), now=now),
            }
            for item in payload.get("items", [])
        ]
        context["more"] = max(payload.get("count", 0) - len(context["items"]), 0)
        context["settings_link"] = _absolute(reverse("account"))
    headers = {"List-ID": f"Handoff notifications <notifications.{_list_host(site)}>"}
    if reader is not None and (digest or message.event_type in EMAIL_KINDS):
        kind = ALL_KINDS if digest else message.event_type
        token = unsubscribe_token(user_id=reader.pk, kind=kind)
        context["unsubscribe"] = site + reverse("unsubscribe", args=[token])
        headers["List-Unsubscribe"] = f"<{context['unsubscribe']}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    template = "crm/email/digest" if digest else "crm/email/notification"
    with timezone.override(reader.time_zone if reader and reader.time_zone else None):
        context["zone"] = timezone.get_current_timezone_name()
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    mail = EmailMultiAlternatives(
        subject=context["title"][:200],
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.target],
        headers=headers,
    )
    mail.attach_alternative(html, "text/html")
    return mail


def _absolute(path: str) -> str:
    """A link in a mail: the site's address and the path (never a relative link)."""
    site = settings.SITE_URL
    return site + path if path.startswith("/") and not path.startswith("//") else site + "/"


def _list_host(site: str) -> str:
    return urlsplit(site).hostname or "localhost"


def deliver_email(message: OutboxMessage, now: datetime) -> None:
    reader = _readers([message]).get(message.recipient_id)
    if holds_for_digest(message.event_type, reader):
        _hold([message], result=DrainResult())
        return
    mail = _email(message, now=now, reader=reader)
    if mail is not None:
        mail.send(fail_silently=False)


# The default handlers' set versions, used by the drain when a channel keeps its default.
SET_DELIVERY: dict[str, Callable[..., None]] = {
    "crm.outbox.deliver_in_app": _deliver_in_app_set,
    "crm.outbox.deliver_email": _deliver_email_set,
}


@dataclass(frozen=True)
class ChannelBacklog:
    channel: str
    pending: int
    failed: int
    oldest_pending_age: timedelta


def outbox_backlog(*, now: datetime) -> list[ChannelBacklog]:
    """Pending and failed messages per channel, and how long the oldest pending one waits:
    whether the drain keeps up. One grouped query."""
    rows = (
        OutboxMessage.objects.filter(
            status__in=[OutboxMessage.Status.PENDING, OutboxMessage.Status.FAILED]
        )
        .values("channel", "status")
        .annotate(count=Count("id"), oldest=Min("created_at"))
    )
    found = {(row["channel"], row["status"]): row for row in rows}
    backlog = []
    for channel in OutboxMessage.Channel.values:
        pending = found.get((channel, OutboxMessage.Status.PENDING))
        failed = found.get((channel, OutboxMessage.Status.FAILED))
        backlog.append(
            ChannelBacklog(
                channel=channel,
                pending=pending["count"] if pending else 0,
                failed=failed["count"] if failed else 0,
                oldest_pending_age=max(now - pending["oldest"], timedelta(0))
                if pending
                else timedelta(0),
            )
        )
    return backlog

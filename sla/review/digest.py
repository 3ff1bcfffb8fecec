"""The weekly digest of the joint review: the same review, summarised, to both teams alike
by e-mail and to the Slack-compatible webhooks, through the outbox.

Exactly once per period: the JointReviewDigest row with the period's unique name is the
claim, written in the transaction that writes the outbox rows, and every delivery key names
the period. Two schedulers, a replayed task or an operator after the schedule find the claim
taken (on PostgreSQL the second insert waits for the first transaction, then fails) and send
nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction

from crm.models import OutboxChannel, Role, User
from crm.outbox import Delivery, outbox_write
from sla.models import DecisionStatus, JointReviewDigest, WebhookEndpoint, WebhookFormat
from sla.review.periods import ReviewPeriod, week_of
from sla.review.sections import JointReview, joint_review

EVENT = "review.digest"
# How late a scheduled digest may still go out (a worker down over the hour): later than
# this, a fresh install or a long outage does not send an old week's digest out of the blue.
CATCH_UP = timedelta(hours=24)
REASONS_SHOWN = 3  # the top rejection groups the digest names


@dataclass(frozen=True)
class DigestResult:
    period: str
    sent: bool  # False: already sent before, or a dry run
    deliveries: int
    text: str


def digest_text(review: JointReview) -> tuple[str, str]:
    """(title, body): the headline with its changes, both sides of the SLA, the top reasons
    for rejection and the open decisions, in plain text that reads in mail and chat alike."""
    title = f"Joint review: {review.period.label}"
    lines = [f"Compared with {review.previous.label}."]
    for change in review.headline:
        lines.append(f"- {change.now.label}: {change.now.shown} ({change.shown})")
    missed = [c for c in review.commitments if c.status == "missed"]
    lines.append(
        f"Marketing's commitments: {len(review.commitments) - len(missed)} met or on track, "
        f"{len(missed)} missed."
    )
    goals = {figure.key: figure for figure in review.sales_goals}
    lines.append(
        f"Sales' promises: {goals['sla_met'].shown} met, {goals['sla_missed'].shown} missed; "
        f"breaches awaiting acknowledgement: "
        f"{review.breach_figures['breaches_unacknowledged'].shown}."
    )
    if review.rejected:
        groups = review.rejected[:REASONS_SHOWN]
        top = "; ".join(f"{g.reason} ({g.campaign}): {g.count}" for g in groups)
        lines.append(f"Rejected most for: {top}.")
    still_open = [d for d in review.decisions if d.status == DecisionStatus.OPEN]
    if still_open:
        lines.append(f"Open decisions: {len(still_open)}")
        lines += [f"- {d.text} ({d.owner.display_name}, due {d.due_on:%-d %b})" for d in still_open]
    return title, "\n".join(lines)


def _audience() -> tuple[list[User], list[WebhookEndpoint]]:
    """Both teams alike (marketers, sales reps, managers with an address), and the active
    Slack-compatible endpoints plus any other endpoint subscribed to the digest."""
    people = list(
        User.objects.filter(
            is_active=True, role__in=[Role.MARKETER, Role.SALES_REP, Role.MANAGER]
        ).exclude(email="")
    )
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(active=True)
        if endpoint.format == WebhookFormat.SLACK or EVENT in endpoint.event_types
    ]
    return people, endpoints


def digest_deliveries(
    review: JointReview, people: list[User], endpoints: list[WebhookEndpoint]
) -> list[Delivery]:
    title, body = digest_text(review)
    key = review.period.key
    payload: dict[str, Any] = {
        "title": title,
        "body": body,
        "url": f"/review/?period={key}",
        "data": {"period": key, "label": review.period.label},
    }
    deliveries = [
        Delivery(
            channel=OutboxChannel.EMAIL,
            delivery_key=f"review:{key}:email:{person.pk}",
            event_type=EVENT,
            payload=payload,
            recipient_id=person.pk,
            target=person.email,
        )
        for person in people
    ]
    deliveries += [
        Delivery(
            channel=OutboxChannel.WEBHOOK,
            delivery_key=f"review:{key}:webhook:{endpoint.pk}",
            event_type=EVENT,
            payload=payload,
            target=str(endpoint.pk),
        )
        for endpoint in endpoints
    ]
    return deliveries


def joint_review_send(
    *, period: ReviewPeriod, now: datetime, sent_by: str = "schedule", dry_run: bool = False
) -> DigestResult:
    """Send the digest of `period` unless it went out already; a dry run only says what it
    would send."""
    review = joint_review(period, now)
    title, body = digest_text(review)
    text = f"{title}\n\n{body}"
    if dry_run:
        people, endpoints = _audience()
        return DigestResult(
            period.key, False, len(digest_deliveries(review, people, endpoints)), text
        )
    try:
        with transaction.atomic():
            claim = JointReviewDigest.objects.create(
                period=period.key, sent_at=now, sent_by=sent_by
            )
            people, endpoints = _audience()
            deliveries = digest_deliveries(review, people, endpoints)
            outbox_write(deliveries, now=now)
            JointReviewDigest.objects.filter(pk=claim.pk).update(deliveries=len(deliveries))
    except IntegrityError:
        return DigestResult(period.key, False, 0, text)
    return DigestResult(period.key, True, len(deliveries), text)


def scheduled_send_time(now: datetime) -> datetime:
    """The latest scheduled moment at or before `now`: the weekday and time of
    JOINT_REVIEW_DIGEST_AT in the teams' zone (default Monday 08:00)."""
    zone = ZoneInfo(settings.TIME_ZONE)
    weekday, at = settings.JOINT_REVIEW_DIGEST_AT
    local = now.astimezone(zone)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    moment = datetime.combine(day, at, tzinfo=zone)
    if moment > now:
        moment = datetime.combine(day - timedelta(days=7), at, tzinfo=zone)
    return moment


def joint_review_digest_due(*, now: datetime) -> DigestResult | None:
    """What beat runs: the digest of the week before the latest scheduled moment, if that
    moment is at most CATCH_UP ago and the digest has not gone out. Cheap when it has: one
    indexed read."""
    moment = scheduled_send_time(now)
    if now - moment > CATCH_UP:
        return None
    period = week_of(moment.date() - timedelta(days=7), settings.TIME_ZONE)
    if JointReviewDigest.objects.filter(period=period.key).exists():
        return None
    return joint_review_send(period=period, now=now)

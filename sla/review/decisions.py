"""Decisions and action items of the joint review: recorded by managers during the meeting,
closed by a manager or by the person who owns the action. Each write is one transaction
with its history row (ReviewDecisionEvent); a stale close is refused."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from crm.errors import DomainError, ErrorCode
from crm.models import User
from crm.rights import can_close_decision, can_record_decisions
from leads.services.cleaning import clean_text
from sla.models import DecisionStatus, ReviewDecision, ReviewDecisionEvent
from sla.review.periods import review_period
from sla.services import clean_date


def _text(value: Any, name: str, *, required: bool) -> str:
    text = clean_text(name, value, ReviewDecision._meta.get_field(name).max_length)
    if required and not text:
        raise DomainError(f"{name}: say what was decided.", field=name)
    return text


def _owner(value: Any) -> User:
    owner_id = value.pk if isinstance(value, User) else value
    owner = None
    if isinstance(owner_id, int) and not isinstance(owner_id, bool):
        owner = User.objects.filter(pk=owner_id, is_active=True).first()
    if owner is None:
        raise DomainError("owner: choose an active person to own this.", field="owner")
    return owner


@transaction.atomic
def decision_record(
    *,
    actor: User,
    text: str,
    owner: User | int,
    due_on: date | str,
    period: str = "",
    now: datetime | None = None,
) -> ReviewDecision:
    """A decision or action item of the review of `period` (default: the last full week)."""
    if not can_record_decisions(actor):
        raise DomainError("Only managers record decisions.", code=ErrorCode.FORBIDDEN)
    now = now or timezone.now()
    cleaned = _text(text, "text", required=True)
    person = _owner(owner)
    due = clean_date(due_on, "due_on")
    key = review_period(period, now=now).key
    decision = ReviewDecision.objects.create(
        text=cleaned,
        owner=person,
        due_on=due,
        period=key,
        recorded_by=actor,
        recorded_at=now,
    )
    ReviewDecisionEvent.objects.create(
        decision=decision,
        kind=ReviewDecisionEvent.Kind.RECORDED,
        actor=actor,
        changes={
            "text": [None, cleaned],
            "owner": [None, person.username],
            "due_on": [None, due.isoformat()],
            "period": [None, key],
        },
        created_at=now,
    )
    return decision


@transaction.atomic
def decision_close(
    *,
    actor: User,
    decision: ReviewDecision | int,
    outcome: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> ReviewDecision:
    """Close an open decision with what came of it. Closing twice, or with a version that
    is no longer current, is refused."""
    pk = decision.pk if isinstance(decision, ReviewDecision) else decision
    current = ReviewDecision.objects.select_for_update().filter(pk=pk).first()
    if current is None:
        raise DomainError("No such decision.", code=ErrorCode.NOT_FOUND)
    if not can_close_decision(actor, current.owner_id):
        raise DomainError(
            "Only managers or the decision's owner close it.", code=ErrorCode.FORBIDDEN
        )
    if expected_version is not None and expected_version != current.version:
        raise DomainError(
            "Someone changed this decision since you read it; reload and try again.",
            code=ErrorCode.STALE,
            field="version",
        )
    if current.status != DecisionStatus.OPEN:
        raise DomainError("This decision is already closed.", code=ErrorCode.STALE, field="status")
    now = now or timezone.now()
    note = _text(outcome, "outcome", required=False)
    ReviewDecision.objects.filter(pk=pk, version=current.version).update(
        status=DecisionStatus.CLOSED,
        closed_at=now,
        closed_by=actor,
        outcome=note,
        version=F("version") + 1,
    )
    ReviewDecisionEvent.objects.create(
        decision=current,
        kind=ReviewDecisionEvent.Kind.CLOSED,
        actor=actor,
        changes={"status": [DecisionStatus.OPEN, DecisionStatus.CLOSED], "outcome": [None, note]},
        created_at=now,
    )
    return ReviewDecision.objects.select_related("owner", "recorded_by", "closed_by").get(pk=pk)

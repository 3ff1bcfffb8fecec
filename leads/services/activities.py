"""Calls, emails, meetings and notes logged on a lead."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from crm.errors import DomainError
from crm.models import User
from leads.models import Activity, Lead, LeadEvent, field_max_length
from leads.services.cleaning import clean_text
from leads.services.history import lead_begin, record_event


@transaction.atomic
def activity_log(
    *,
    lead: Lead | int,
    actor: User,
    kind: str,
    summary: str = "",
    occurred_at: datetime | None = None,
    now: datetime | None = None,
) -> Activity:
    """Log a call, email, meeting or note. The assignee's first touch is stamped on the lead."""
    lead, now = lead_begin(lead, actor, None, now)
    if kind not in Activity.Kind.values:
        raise DomainError(
            f"Unknown activity kind {kind!r}; expected one of {', '.join(Activity.Kind.values)}.",
            field="kind",
        )
    summary = clean_text("summary", summary, field_max_length(Activity, "summary"))
    occurred_at = occurred_at or now
    if occurred_at > now:
        raise DomainError("An activity cannot happen in the future.", field="occurred_at")
    activity = Activity.objects.create(
        lead=lead, kind=kind, actor=actor, occurred_at=occurred_at, summary=summary, created_at=now
    )
    is_first_touch = (
        kind in Activity.TOUCH_KINDS and lead.owner_id == actor.id and lead.first_touch_at is None
    )
    if is_first_touch:
        # Not a version bump: logging a call must not make a colleague's open edit stale.
        Lead.objects.filter(pk=lead.pk, first_touch_at__isnull=True).update(first_touch_at=now)
        lead.first_touch_at = now
    record_event(
        lead=lead,
        kind=LeadEvent.Kind.ACTIVITY,
        actor=actor,
        now=now,
        changes={"activity_id": activity.pk, "kind": kind, "first_touch": is_first_touch},
    )
    return activity

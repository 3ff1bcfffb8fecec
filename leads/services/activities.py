"""Calls, emails, meetings and notes logged on a lead."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import transaction

from crm.errors import DomainError
from crm.models import User
from leads.models import Activity, Lead, LeadEvent, field_max_length
from leads.services.cleaning import TEXT_FIELDS, clean_day, clean_text
from leads.services.history import lead_begin, lead_write, record_event


@transaction.atomic
def activity_log(
    *,
    lead: Lead | int,
    actor: User,
    kind: str,
    summary: str = "",
    occurred_at: datetime | None = None,
    next_step: str | None = None,
    next_step_due: date | str | None = None,
    now: datetime | None = None,
) -> Activity:
    """Log a call, email, meeting or note. The assignee's first touch is stamped on the lead.
    `next_step` and `next_step_due`, when given, set the follow-up in the same change."""
    lead, now = lead_begin(lead, actor, None, now)
    follow_up = _follow_up(next_step, next_step_due)
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
    changes: dict[str, Any] = {
        "activity_id": activity.pk,
        "kind": kind,
        "first_touch": is_first_touch,
    }
    if follow_up:
        changes.update(lead_write(lead, follow_up, now))
    record_event(lead=lead, kind=LeadEvent.Kind.ACTIVITY, actor=actor, now=now, changes=changes)
    return activity


def _follow_up(next_step: str | None, next_step_due: date | str | None) -> dict[str, Any]:
    """The next step an activity sets: given fields only (None leaves the lead's as it is)."""
    values: dict[str, Any] = {}
    if next_step is not None:
        values["next_step"] = clean_text("next_step", next_step, TEXT_FIELDS["next_step"])
    if next_step_due is not None:
        values["next_step_due"] = clean_day("next_step_due", next_step_due)
    return values

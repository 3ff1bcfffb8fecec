"""What every lead write shares: the row lock, the versioned UPDATE and the history event.

Each change locks the lead row, refuses a stale `expected_version`, checks the actor's rights
(and for a move, the lifecycle), writes only the changed fields with the version checked in
the UPDATE's WHERE clause, appends a LeadEvent and lets the SLA engine react to that event.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import F
from django.utils import timezone

from crm.errors import DomainError, ErrorCode
from crm.models import User
from leads import permissions
from leads.lifecycle import MILESTONES, require_move
from leads.models import Lead, LeadEvent, field_max_length
from sla.clocks import clocks_on_lead_event

MAX_EVENT_NOTE = field_max_length(LeadEvent, "note")


def _display(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str | list):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def record_event(
    *,
    lead: Lead,
    kind: str,
    actor: User | None,
    now: datetime,
    from_stage: str = "",
    to_stage: str = "",
    changes: dict[str, Any] | None = None,
    note: str = "",
) -> LeadEvent:
    event = LeadEvent.objects.create(
        lead=lead,
        kind=kind,
        actor=actor,
        from_stage=from_stage,
        to_stage=to_stage,
        changes=changes or {},
        note=note[:MAX_EVENT_NOTE],
        created_at=now,
    )
    clocks_on_lead_event(lead=lead, event=event, now=now)
    return event


def _lock(lead: Lead | int, expected_version: int | None, actor: User) -> Lead:
    """Lock the row, then check rights before the version: a caller without rights learns
    nothing about the lead's current version."""
    pk = lead if isinstance(lead, int) else lead.pk
    try:
        locked = Lead.objects.select_for_update().get(pk=pk)
    except Lead.DoesNotExist as exc:
        raise DomainError(f"Lead {pk} does not exist.", code=ErrorCode.NOT_FOUND) from exc
    permissions.require_edit(actor, locked)
    _check_version(locked, expected_version)
    return locked


def lead_begin(
    lead: Lead | int,
    actor: User,
    expected_version: int | None,
    now: datetime | None,
    transition: str | None = None,
    /,
) -> tuple[Lead, datetime]:
    """The start of every change, inside its transaction: the time it happens, the locked
    row (rights, then version) and, for a move, the lifecycle's consent."""
    now = now or timezone.now()
    locked = _lock(lead, expected_version, actor)
    if transition is not None:
        require_move(locked, transition)
    return locked, now


def _check_version(lead: Lead, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != lead.version:
        raise DomainError(
            f"Lead {lead.pk} was changed by someone else (version {lead.version}, "
            f"yours {expected_version}). Reload and try again.",
            code=ErrorCode.STALE,
            field="version",
        )


def lead_write(lead: Lead, changes: dict[str, Any], now: datetime) -> dict[str, list[Any]]:
    """Save the changed fields; the version in the WHERE clause refuses a lost update."""
    values = {name: value for name, value in changes.items() if getattr(lead, name) != value}
    if not values:
        return {}
    # Milestones are bookkeeping derived from the event itself: kept out of its diff.
    diff = {
        name: [_display(getattr(lead, name)), _display(value)]
        for name, value in values.items()
        if name not in MILESTONES
    }
    rows = Lead.objects.filter(pk=lead.pk, version=lead.version).update(
        **values, version=F("version") + 1, updated_at=now
    )
    if rows != 1:
        raise DomainError(
            f"Lead {lead.pk} was changed by someone else. Reload and try again.",
            code=ErrorCode.STALE,
            field="version",
        )
    for name, value in values.items():
        setattr(lead, name, value)
    lead.version += 1
    lead.updated_at = now
    return diff

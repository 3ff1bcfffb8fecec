"""Data protection: export everything held about a person, or erase it. Managers only.

Erasure keeps the lead rows (stage, dates, value, campaign, owner) so pipeline, conversion and
SLA reports stay right, and removes what identifies the person: contact fields, free text in
activities and notes, and personal values inside history. Both acts are recorded as history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from crm.errors import DomainError, ErrorCode
from crm.models import User
from leads import permissions
from leads.models import Activity, Lead, LeadEvent
from leads.services import normalize_email

PERSONAL_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "email",
        "email_normalized",
        "phone",
        "job_title",
        "next_step",
        "reason_note",
        "external_id",
    }
)
ERASED = "[erased]"


def _leads_of(email: str) -> list[Lead]:
    key = normalize_email(email or "")
    if not key or "@" not in key:
        raise DomainError("Give the person's email address.", field="email")
    leads = list(Lead.objects.filter(email_normalized=key).order_by("id"))
    if not leads:
        raise DomainError(
            "No lead has that email address.", code=ErrorCode.NOT_FOUND, field="email"
        )
    return leads


def _require_manager(actor: User) -> None:
    permissions.require(
        permissions.can_manage_definitions(actor), "Only managers export or erase personal data."
    )


@transaction.atomic
def person_export(*, actor: User, email: str, now: datetime | None = None) -> dict[str, Any]:
    """Everything held about the person behind `email`, as JSON-ready data."""
    now = now or timezone.now()
    _require_manager(actor)
    leads = _leads_of(email)
    exported = []
    for lead in leads:
        exported.append(
            {
                "id": lead.pk,
                "first_name": lead.first_name,
                "last_name": lead.last_name,
                "email": lead.email,
                "phone": lead.phone,
                "company": lead.company,
                "job_title": lead.job_title,
                "source": lead.source,
                "external_id": lead.external_id,
                "stage": lead.stage,
                "campaign": lead.campaign.name if lead.campaign else None,
                "created_at": lead.created_at.isoformat(),
                "activities": [
                    {"kind": a.kind, "occurred_at": a.occurred_at.isoformat(), "summary": a.summary}
                    for a in lead.activities.order_by("occurred_at", "id")
                ],
                "history": [
                    {
                        "kind": e.kind,
                        "at": e.created_at.isoformat(),
                        "from_stage": e.from_stage,
                        "to_stage": e.to_stage,
                        "changes": e.changes,
                        "note": e.note,
                    }
                    for e in lead.events.order_by("created_at", "id")
                ],
            }
        )
        LeadEvent.objects.create(
            lead=lead,
            kind=LeadEvent.Kind.EXPORTED,
            actor=actor,
            created_at=now,
            note="Personal data exported on request.",
        )
    return {"exported_at": now.isoformat(), "leads": exported}


@transaction.atomic
def person_erase(*, actor: User, email: str, now: datetime | None = None) -> list[int]:
    """Erase the person's personal data from every lead with that email; return lead ids."""
    now = now or timezone.now()
    _require_manager(actor)
    leads = _leads_of(email)
    ids = [lead.pk for lead in leads]
    for lead in Lead.objects.select_for_update().filter(pk__in=ids):
        placeholder = f"erased-{lead.pk}@erased.invalid"
        Lead.objects.filter(pk=lead.pk).update(
            first_name="",
            last_name="",
            email=placeholder,
            email_normalized=placeholder,
            phone="",
            job_title="",
            next_step="",
            reason_note="",
            external_id=None,
            version=lead.version + 1,
            updated_at=now,
        )
    Activity.objects.filter(lead_id__in=ids).update(summary=ERASED)
    allow_history_rewrite()
    for event in LeadEvent.objects.filter(lead_id__in=ids):
        event.changes = _scrub(event.changes)
        event.note = ERASED if event.note else ""
        event.save(update_fields=["changes", "note"])
    for lead_id in ids:
        LeadEvent.objects.create(
            lead_id=lead_id,
            kind=LeadEvent.Kind.ERASED,
            actor=actor,
            created_at=now,
            note="Personal data erased on request.",
        )
    return ids


def allow_history_rewrite() -> None:
    """Lift the append-only guard on lead history for the current transaction only
    (PostgreSQL trigger, leads migration 0005). Erasure is the one legitimate rewrite."""
    if not connection.in_atomic_block:
        raise RuntimeError("allow_history_rewrite() needs a transaction to scope it to.")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL handoff.allow_history_rewrite = 'on'")


def _scrub(changes: dict[str, Any]) -> dict[str, Any]:
    return {
        key: ([ERASED, ERASED] if isinstance(value, list) else ERASED)
        if key in PERSONAL_FIELDS
        else value
        for key, value in changes.items()
    }

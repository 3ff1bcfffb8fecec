"""Data protection: export everything held about a person, or erase it. Managers only.

Erasure keeps the lead rows (stage, dates, value, campaign, owner) so pipeline, conversion and
SLA reports stay right, and removes what identifies the person: contact fields, free text in
activities and notes, and personal values inside history, and wherever copies of them were
kept: stored Idempotency-Key answers, outbox payloads, in-app notifications, webhook delivery
logs and uploaded CSV files (the person's lines). Both acts are recorded as history.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from crm.errors import DomainError, ErrorCode
from crm.models import IdempotencyRecord, Notification, OutboxMessage, User
from leads import permissions
from leads.models import Activity, ImportJob, Lead, LeadEvent
from leads.services.cleaning import normalize_email
from sla.clocks import deliveries_forget

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
EMAIL_IN_TEXT = re.compile(r"[^\s,;:<>()\[\]\"']+@[^\s,;:<>()\[\]\"']+")


def person_leads(email: str) -> list[Lead]:
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
    leads = person_leads(email)
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
    leads = person_leads(email)
    ids = [lead.pk for lead in leads]
    needles = _identifying_strings(leads, email)
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
        event.changes = scrub_value(_scrub(event.changes), needles)
        event.note = ERASED if event.note else ""
        event.save(update_fields=["changes", "note"])
    emails = {email.strip().lower()} | {lead.email.lower() for lead in leads}
    emails.add(normalize_email(email))
    _erase_copies(ids=ids, emails=sorted(emails), needles=needles)
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


# ---------------------------------------------------------------- copies outside the lead


def _identifying_strings(leads: list[Lead], email: str) -> re.Pattern[str]:
    """One case-insensitive pattern for the person's email, names and phone numbers."""
    values = {email.strip()}
    for lead in leads:
        values |= {lead.email, lead.email_normalized, lead.first_name, lead.last_name, lead.phone}
        values.add(f"{lead.first_name} {lead.last_name}")
    needles = sorted((v.strip() for v in values if v and len(v.strip()) > 1), key=len, reverse=True)
    return re.compile("|".join(re.escape(n) for n in needles), re.IGNORECASE)


def scrub_value(value: Any, needles: re.Pattern[str]) -> Any:
    """The same JSON-like value with every mention of the person replaced by [erased]."""
    if isinstance(value, str):
        return needles.sub(ERASED, value)
    if isinstance(value, list):
        return [scrub_value(item, needles) for item in value]
    if isinstance(value, dict):
        return {key: scrub_value(item, needles) for key, item in value.items()}
    return value


def _erase_copies(*, ids: list[int], emails: list[str], needles: re.Pattern[str]) -> None:
    def mentioned(*fields: str) -> Q:
        condition = Q(pk__in=[])
        for field in fields:
            for email in emails:
                condition |= Q(**{f"{field}__icontains": email})
        return condition

    def mentions_person(text: str) -> bool:
        """Any address in `text` that is one of the person's, +tags and case aside."""
        return any(normalize_email(found) in emails for found in EMAIL_IN_TEXT.findall(text))

    urls = [f"/leads/{lead_id}/" for lead_id in ids]
    stored_answers = mentioned("response_body") | Q(response_body__id__in=ids)
    for record in IdempotencyRecord.objects.filter(stored_answers):
        record.response_body = scrub_value(record.response_body, needles)
        record.response_content = None  # replays render the scrubbed body instead
        record.save(update_fields=["response_body", "response_content"])
    about_lead = (
        mentioned("payload", "target")
        | Q(payload__data__lead_id__in=ids)
        | Q(payload__url__in=urls)
    )
    for message in OutboxMessage.objects.filter(about_lead):
        message.payload = scrub_value(message.payload, needles)
        message.target = needles.sub(ERASED, message.target)
        message.last_error = needles.sub(ERASED, message.last_error)
        message.save(update_fields=["payload", "target", "last_error"])
    about_lead = Q(url__in=urls) | Q(data__lead_id__in=ids) | mentioned("title", "body", "data")
    for notification in Notification.objects.filter(about_lead):
        notification.title = needles.sub(ERASED, notification.title)
        notification.body = needles.sub(ERASED, notification.body)
        notification.data = scrub_value(notification.data, needles)
        notification.save(update_fields=["title", "body", "data"])
    deliveries_forget(emails=emails, needles=needles, erased=ERASED)
    locals_ = {email.partition("@")[0].split("+", 1)[0] for email in emails}
    in_files = Q(pk__in=[])
    for local in locals_:
        in_files |= Q(content__icontains=local) | Q(errors__icontains=local)
    for job in ImportJob.objects.filter(in_files):
        # The person's lines go whole (names elsewhere in the file are other people's).
        job.content = "\n".join(
            ERASED if mentions_person(line) else line for line in job.content.split("\n")
        )
        job.errors = [
            scrub_value(error, needles) if mentions_person(str(error)) else error
            for error in job.errors
        ]
        job.save(update_fields=["content", "errors"])

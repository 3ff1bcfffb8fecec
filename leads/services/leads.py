"""Creating and editing a lead, and the upsert that integrations send.

Upsert rule (documented in the API schema): a lead whose `source` and `external_id` match an
existing lead updates that lead's contact fields (only the non-empty ones sent) instead of
creating a second one. If the sender may no longer edit it (sales owns it now), nothing is
changed and the answer is a duplicate naming the lead. A new lead whose normalised email
matches an open lead is a duplicate too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.errors import DomainError, ErrorCode
from crm.models import Role, Team, User
from leads import permissions
from leads.lifecycle import Stage
from leads.models import Campaign, Lead, LeadEvent, Persona, field_max_length
from leads.services.cleaning import clean_fields, clean_text, normalize_email
from leads.services.history import lead_begin, lead_write, record_event

UPSERT_FIELDS = ("email", "first_name", "last_name", "phone", "company", "job_title")
UPSERT_REFERENCES = ("campaign", "persona", "estimated_value")

Outcome = Literal["created", "updated", "duplicate", "error"]


@dataclass(frozen=True)
class LeadInput:
    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    company: str = ""
    job_title: str = ""
    campaign: Campaign | int | None = None
    persona: Persona | int | None = None
    source: str = "manual"
    external_id: str | None = None
    estimated_value: Any = None


@dataclass
class ItemResult:
    outcome: Outcome
    lead: Lead | None = None
    existing_id: int | None = None
    errors: list[DomainError] = field(default_factory=list)
    lead_id: int | None = None  # a lead a batch created, without loading it

    @property
    def id(self) -> int | None:
        """The lead created, updated or matched."""
        if self.lead is not None:
            return self.lead.pk
        return self.lead_id if self.lead_id is not None else self.existing_id


def find_duplicate(*, email_normalized: str, source: str, external_id: str | None) -> Lead | None:
    """The lead a new one would duplicate: same source + external id, or same open email."""
    if external_id:
        match = Lead.objects.filter(source=source, external_id=external_id).first()
        if match is not None:
            return match
    return Lead.objects.open().filter(email_normalized=email_normalized).first()


def duplicate_error(existing: Lead) -> DomainError:
    return DomainError(
        f"This lead already exists (lead {existing.pk}).",
        code=ErrorCode.DUPLICATE,
        field="email",
        existing_id=existing.pk,
    )


def validate_lead_input(data: LeadInput) -> dict[str, Any]:
    values = clean_fields(
        {
            "email": data.email,
            "first_name": data.first_name,
            "last_name": data.last_name,
            "phone": data.phone,
            "company": data.company,
            "job_title": data.job_title,
            "campaign": data.campaign,
            "persona": data.persona,
            "estimated_value": data.estimated_value,
        }
    )
    source = clean_text("source", data.source, field_max_length(Lead, "source"))
    external_id = clean_text("external_id", data.external_id, field_max_length(Lead, "external_id"))
    values["source"] = source or "manual"
    values["external_id"] = external_id or None
    values["email_normalized"] = normalize_email(values["email"])
    return values


def new_lead(*, actor: User, values: dict[str, Any], now: datetime) -> Lead:
    """An unsaved engaged lead from validated values (lead_create and batches insert it)."""
    return Lead(
        **values,
        stage=Stage.ENGAGED,
        owner_team=Team.MARKETING,
        owner=actor if actor.role == Role.MARKETER else None,
        stage_changed_at=now,
        created_at=now,
        updated_at=now,
        created_by=actor,
    )


def lead_create(*, actor: User, data: LeadInput, now: datetime | None = None) -> Lead:
    """Create an engaged lead, or raise DUPLICATE naming the lead that already exists."""
    now = now or timezone.now()
    permissions.require(
        permissions.can_create_lead(actor),
        "Only marketing, managers and integrations create leads.",
    )
    values = validate_lead_input(data)
    try:
        return _lead_insert(actor=actor, values=values, now=now)
    except IntegrityError as exc:
        # The unique indexes on (source, external_id) and on an open lead's email decide
        # what a duplicate is, so a new person costs no lookup before the insert; the
        # refused insert's transaction (or savepoint) is gone when we look for whom it
        # duplicates.
        existing = find_duplicate(
            email_normalized=values["email_normalized"],
            source=values["source"],
            external_id=values["external_id"],
        )
        if existing is None:
            raise
        raise duplicate_error(existing) from exc


@transaction.atomic
def _lead_insert(*, actor: User, values: dict[str, Any], now: datetime) -> Lead:
    """The new lead first (so a duplicate fails before anything else is written), then its
    creation event and its clocks."""
    lead = new_lead(actor=actor, values=values, now=now)
    lead.save(force_insert=True)
    record_event(
        lead=lead,
        kind=LeadEvent.Kind.CREATED,
        actor=actor,
        now=now,
        to_stage=Stage.ENGAGED,
        changes={"source": lead.source, "email": lead.email},
    )
    return lead


@transaction.atomic
def lead_update(
    *,
    lead: Lead | int,
    actor: User,
    fields: dict[str, Any],
    expected_version: int | None,
    now: datetime | None = None,
) -> Lead:
    """Edit contact and deal fields. Stage, owner, team and version are not editable here."""
    lead, now = lead_begin(lead, actor, expected_version, now)
    values = clean_fields(fields)
    if "email" in values:
        values["email_normalized"] = normalize_email(values["email"])
        if values["email_normalized"] != lead.email_normalized and lead.is_open:
            clash = Lead.objects.open().filter(email_normalized=values["email_normalized"])
            existing = clash.exclude(pk=lead.pk).first()
            if existing is not None:
                raise duplicate_error(existing)
    diff = lead_write(lead, values, now)
    if diff:
        record_event(lead=lead, kind=LeadEvent.Kind.UPDATED, actor=actor, now=now, changes=diff)
    return lead


def _upsert_fields(data: LeadInput) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: getattr(data, name) for name in UPSERT_FIELDS if getattr(data, name) not in ("", None)
    }
    for name in UPSERT_REFERENCES:
        if getattr(data, name) is not None:
            values[name] = getattr(data, name)
    return values


def lead_upsert_existing(
    *, existing: Lead, actor: User, data: LeadInput, now: datetime
) -> ItemResult:
    """The external-id match of an upsert: update it, or refuse it as a duplicate when the
    sender may no longer edit it."""
    if not permissions.can_edit_lead(actor, existing):
        raise DomainError(
            f"This lead already exists (lead {existing.pk}) and is no longer yours to update.",
            code=ErrorCode.DUPLICATE,
            field="external_id",
            existing_id=existing.pk,
        )
    lead = lead_update(
        lead=existing.pk, actor=actor, fields=_upsert_fields(data), expected_version=None, now=now
    )
    return ItemResult("updated", lead=lead, existing_id=lead.pk)


def lead_create_or_update(
    *, actor: User, data: LeadInput, now: datetime | None = None
) -> ItemResult:
    """One lead from an integration: created or updated (external id match); a duplicate
    raises DomainError(DUPLICATE) naming the existing lead. The create and the update are
    each one transaction; the lookup before them locks nothing, so it needs none."""
    now = now or timezone.now()
    # Rights first: a caller who may not create leads learns nothing about existing ones.
    permissions.require(permissions.can_create_lead(actor), "Your role cannot create leads.")
    external_id = (data.external_id or "").strip()
    same_key = Lead.objects.filter(source=(data.source or "").strip() or "manual")
    if external_id:
        match = same_key.filter(external_id=external_id).first()
        if match is not None:
            return lead_upsert_existing(existing=match, actor=actor, data=data, now=now)
    try:
        return ItemResult("created", lead=lead_create(actor=actor, data=data, now=now))
    except DomainError as error:
        # Another writer created this (source, external_id) between the lookup and our insert
        # (the unique index refused ours): we are the update it would have been, once.
        if error.code != ErrorCode.DUPLICATE or not external_id:
            raise
        match = same_key.filter(external_id=external_id).first()
        if match is None:
            raise
        return lead_upsert_existing(existing=match, actor=actor, data=data, now=now)

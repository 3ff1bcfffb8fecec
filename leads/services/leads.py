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

from django.db import transaction
from django.utils import timezone

from crm.errors import DomainError, ErrorCode
from crm.models import Role, Team, User
from crm.set_insert import PerRow, insert_new_rows
from leads import permissions
from leads.lifecycle import Stage
from leads.models import Campaign, Lead, LeadEvent, Persona, field_max_length
from leads.services.cleaning import clean_fields, clean_text, normalize_email
from leads.services.history import lead_begin, lead_write, record_event
from sla.clocks import clock_starts, first_due_of

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
    lead = _lead_insert(actor=actor, values=values, now=now)
    if lead is None:
        raise duplicate_error(_refusing_lead(values))
    return lead


def _refusing_lead(values: dict[str, Any]) -> Lead:
    """The lead whose unique index refused a new one. The indexes on (source, external_id)
    and on an open lead's email decide what a duplicate is, so a new person costs no lookup
    before the insert; a refused one is looked up after it."""
    existing = find_duplicate(
        email_normalized=values["email_normalized"],
        source=values["source"],
        external_id=values["external_id"],
    )
    if existing is None:
        # The lead that refused ours was erased or closed meanwhile.
        raise DomainError(
            "This lead clashed with one that changed meanwhile; send it again.",
            code=ErrorCode.STALE,
            field="email",
        )
    return existing


def leads_insert_new(*, actor: User, rows: list[dict[str, Any]], now: datetime) -> dict[str, int]:
    """Write new engaged leads from validated values (all with the same keys), each with its
    creation event, its SLA clocks and their timeline events, in one statement
    (crm.set_insert): one round trip and, outside a transaction, one transaction of its own.
    Returns the id of each lead written by its normalised email; a lead refused by a unique
    index (a duplicate, or one that another writer created meanwhile) is left out, with
    nothing of it written."""
    return _insert_leads(new_lead(actor=actor, values=rows[0], now=now), rows)


def _insert_leads(template: Lead, rows: list[dict[str, Any]]) -> dict[str, int]:
    actor, now = template.created_by, template.created_at
    arrays: dict[str, list[Any]] = {}
    for name in rows[0]:
        column = Lead._meta.get_field(name)
        if column.is_relation:
            arrays[column.attname] = [row[name].pk if row[name] else None for row in rows]
        else:
            arrays[column.attname] = [row[name] for row in rows]
    created = PerRow(
        LeadEvent,
        key="lead_id",
        templates=[
            LeadEvent(
                kind=LeadEvent.Kind.CREATED, actor=actor, to_stage=Stage.ENGAGED, created_at=now
            )
        ],
        # The event record_event writes for a single create: {"source": ..., "email": ...}.
        parent_json={"changes": {"source": "source", "email": "email"}},
    )
    clocks = clock_starts(owner_id=template.owner_id, stage=Stage.ENGAGED, now=now)
    template.next_due_at = first_due_of(clocks)
    written = insert_new_rows(
        Lead,
        template=template,
        arrays=arrays,
        returning=["email_normalized"],
        children=[created, *clocks],
    )
    return {email: lead_id for lead_id, email in written}


def _lead_insert(*, actor: User, values: dict[str, Any], now: datetime) -> Lead | None:
    """The new lead with its history and clocks (leads_insert_new), or None when a unique
    index refused it."""
    lead = new_lead(actor=actor, values=values, now=now)
    ids = _insert_leads(lead, [values])
    if not ids:
        return None
    lead.pk = ids[values["email_normalized"]]
    lead._state.adding = False
    lead._state.db = "default"
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
    raises DomainError(DUPLICATE) naming the existing lead.

    The insert comes first (a new person, the common case, costs one statement); the unique
    index on (source, external_id) refusing it makes it the update, also when another writer
    created that lead a moment before. The create and the update are each one transaction.
    """
    now = now or timezone.now()
    # Rights first: a caller who may not create leads learns nothing about existing ones.
    permissions.require(permissions.can_create_lead(actor), "Your role cannot create leads.")
    try:
        values = validate_lead_input(data)
    except DomainError:
        # Input a create refuses may still be an update that the upsert rule allows.
        match = _same_external_id(data)
        if match is None:
            raise
        return lead_upsert_existing(existing=match, actor=actor, data=data, now=now)
    lead = _lead_insert(actor=actor, values=values, now=now)
    if lead is not None:
        return ItemResult("created", lead=lead)
    match = _same_external_id(data)
    if match is not None:
        return lead_upsert_existing(existing=match, actor=actor, data=data, now=now)
    raise duplicate_error(_refusing_lead(values))


def _same_external_id(data: LeadInput) -> Lead | None:
    """The lead an upsert of `data` updates: the same source and external id, if given."""
    external_id = (data.external_id or "").strip()
    if not external_id:
        return None
    source = (data.source or "").strip() or "manual"
    return Lead.objects.filter(source=source, external_id=external_id).first()

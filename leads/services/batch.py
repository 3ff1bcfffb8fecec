"""Batches of creates from integrations: up to MAX_BATCH leads, one result per item.

Each item follows the upsert rule of a single create (leads.services.leads).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from crm.errors import DomainError, ErrorCode
from crm.models import User
from leads import permissions
from leads.lifecycle import OPEN_STAGES
from leads.models import Campaign, Lead, Persona
from leads.services.cleaning import normalize_email
from leads.services.leads import (
    ItemResult,
    LeadInput,
    lead_create,
    lead_create_or_update,
    lead_upsert_existing,
    leads_insert_new,
    validate_lead_input,
)

MAX_BATCH = 1000


def _existing_maps(
    items: list[LeadInput],
) -> tuple[dict[tuple[str, str], Lead], dict[str, int]]:
    """Two queries for the whole batch: leads matching by external id, open leads by email."""
    by_source: dict[str, set[str]] = defaultdict(set)
    emails: set[str] = set()
    for item in items:
        if isinstance(item.external_id, str) and item.external_id.strip():
            by_source[item.source or "manual"].add(item.external_id.strip())
        if isinstance(item.email, str):
            emails.add(normalize_email(item.email))
    # Open emails first, external ids second: a lead another writer commits in between is
    # then seen by its external id (an update) even if its email was missed, never the other
    # way round (a duplicate by email that should have been the update).
    open_emails = _open_leads_by_email(sorted(emails))
    by_external = {
        (lead.source, lead.external_id or ""): lead for lead in _leads_by_external_id(by_source)
    }
    return by_external, open_emails


def _open_leads_by_email(emails: list[str]) -> dict[str, int]:
    """Open leads' ids by normalised email. On PostgreSQL the emails go as one array joined
    to the index: a thousand of them in an IN list made the planner scan every lead."""
    if connection.vendor != "postgresql":
        found = Lead.objects.open().filter(email_normalized__in=emails)
        return dict(found.values_list("email_normalized", "id"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT email_normalized, id FROM {Lead._meta.db_table} "
            "WHERE stage = ANY(%s) AND email_normalized IN (SELECT unnest(%s::varchar[]))",
            [list(OPEN_STAGES), emails],
        )
        return dict(cursor.fetchall())


def _leads_by_external_id(by_source: dict[str, set[str]]) -> list[Lead]:
    """The leads matching these external ids of each source, read as _open_leads_by_email
    reads emails."""
    if not by_source:
        return []
    if connection.vendor != "postgresql":
        condition = Q()
        for source, ids in by_source.items():
            condition |= Q(source=source, external_id__in=ids)
        return list(Lead.objects.filter(condition))
    pairs = [(source, external) for source, ids in by_source.items() for external in ids]
    return list(
        Lead.objects.raw(
            f"SELECT * FROM {Lead._meta.db_table} WHERE (source, external_id) IN "
            "(SELECT * FROM unnest(%s::varchar[], %s::varchar[]))",
            [[source for source, _ in pairs], [external for _, external in pairs]],
        )
    )


def _resolve_references(items: list[LeadInput]) -> list[LeadInput]:
    """Swap campaign/persona ids for instances with one query each; unknown ids stay ints
    so the per-item validation reports them."""
    campaign_ids = {i.campaign for i in items if isinstance(i.campaign, int)}
    persona_ids = {i.persona for i in items if isinstance(i.persona, int)}
    campaigns = Campaign.objects.in_bulk(campaign_ids) if campaign_ids else {}
    personas = Persona.objects.in_bulk(persona_ids) if persona_ids else {}
    return [
        replace(
            item,
            campaign=campaigns.get(item.campaign, item.campaign)
            if isinstance(item.campaign, int)
            else item.campaign,
            persona=personas.get(item.persona, item.persona)
            if isinstance(item.persona, int)
            else item.persona,
        )
        if isinstance(item.campaign, int) or isinstance(item.persona, int)
        else item
        for item in items
    ]


@transaction.atomic
def lead_create_batch(
    *, actor: User, items: list[LeadInput], now: datetime | None = None
) -> list[ItemResult]:
    """Create up to MAX_BATCH leads; one result per item, in input order.

    Set-based: every item is validated first, duplicates are found with two queries for the
    whole batch, and the new leads, their history events and their SLA clocks are written
    by one statement (leads_insert_new). A bad or duplicate item never undoes the good ones.
    Items that touch a lead another item of this batch creates (same email or external id:
    the later one is a duplicate of, or an update to, the earlier), external-id updates, and
    new leads that lost a race to another writer (the unique indexes refused them) take the
    per-item path, each in its own savepoint.
    """
    now = now or timezone.now()
    permissions.require(
        permissions.can_create_lead(actor),
        "Only marketing, managers and integrations create leads.",
    )
    if len(items) > MAX_BATCH:
        raise DomainError(f"At most {MAX_BATCH} leads per batch.", field="items")
    items = _resolve_references(items)
    by_external, open_emails = _existing_maps(items)
    results: list[ItemResult | None] = [None] * len(items)
    fresh: list[tuple[int, dict[str, Any]]] = []
    later: list[int] = []
    later_external: set[tuple[str, str]] = set()
    pending_emails: set[str] = set()
    pending_external: set[tuple[str, str]] = set()
    for index, data in enumerate(items):
        try:
            values = validate_lead_input(data)
        except DomainError as error:
            results[index] = ItemResult("error", errors=[error])
            continue
        external = (values["source"], values["external_id"] or "")
        known = external in by_external or external in pending_external
        if (values["external_id"] and known) or values["email_normalized"] in pending_emails:
            later.append(index)
            later_external.add(external)
        elif values["email_normalized"] in open_emails:
            results[index] = ItemResult(
                "duplicate", existing_id=open_emails[values["email_normalized"]]
            )
        else:
            pending_emails.add(values["email_normalized"])
            if values["external_id"]:
                pending_external.add(external)
            fresh.append((index, values))
    ids = (
        leads_insert_new(actor=actor, rows=[values for _, values in fresh], now=now)
        if fresh
        else {}
    )
    updated_later: dict[tuple[str, str], int] = {}
    for index, values in fresh:
        lead_id = ids.get(values["email_normalized"])
        if lead_id is None:
            # Refused by a unique index: another writer created this person meanwhile.
            later.append(index)
            continue
        results[index] = ItemResult("created", lead_id=lead_id)
        open_emails[values["email_normalized"]] = lead_id
        external = (values["source"], values["external_id"] or "")
        if values["external_id"] and external in later_external:
            updated_later[external] = lead_id
    if updated_later:
        # Later items update leads this batch just created: read those back, once.
        fetched = Lead.objects.in_bulk(updated_later.values())
        by_external.update({key: fetched[lead_id] for key, lead_id in updated_later.items()})
    for index in sorted(later):
        try:
            results[index] = _batch_item(actor, items[index], now, by_external, open_emails)
        except DomainError as error:
            if error.code == ErrorCode.DUPLICATE:
                results[index] = ItemResult("duplicate", existing_id=error.existing_id)
            else:
                results[index] = ItemResult("error", errors=[error])
    return [result for result in results if result is not None]


def _batch_item(
    actor: User,
    data: LeadInput,
    now: datetime,
    by_external: dict[tuple[str, str], Lead],
    open_emails: dict[str, int],
) -> ItemResult:
    values = validate_lead_input(data)
    external = (values["source"], values["external_id"] or "")
    upsert = bool(values["external_id"]) and external in by_external
    if not upsert and values["email_normalized"] in open_emails:
        # A duplicate writes nothing: no savepoint for it.
        return ItemResult("duplicate", existing_id=open_emails[values["email_normalized"]])
    with transaction.atomic():
        if upsert:
            result = lead_upsert_existing(
                existing=by_external[external], actor=actor, data=data, now=now
            )
        elif values["external_id"]:
            # Looked up again, not taken from the batch's first reads: a writer racing this
            # batch on the same external id makes this item the update it would have been.
            result = lead_create_or_update(actor=actor, data=data, now=now)
        else:
            result = ItemResult("created", lead=lead_create(actor=actor, data=data, now=now))
    if result.lead is not None:
        if result.lead.is_open:
            open_emails[result.lead.email_normalized] = result.lead.pk
        if result.lead.external_id:
            by_external[(result.lead.source, result.lead.external_id)] = result.lead
    return result

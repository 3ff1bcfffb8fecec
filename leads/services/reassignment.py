"""Reassigning a sales-owned lead from one rep to another.

The lead keeps its stage and its SLA clocks: the team's clock keeps running and the new rep
sees the due time the old one had (sla.clocks moves the running clocks to the new owner on the
ASSIGNED event). A clock that already breached stays with the rep it breached under. Both reps
are told through the outbox, in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.urls import reverse

from crm.errors import DomainError
from crm.models import OutboxChannel, User
from crm.outbox import Delivery, outbox_write
from leads import permissions
from leads.lifecycle import Transition
from leads.models import Lead, LeadEvent
from leads.services.assignment import resolve_assignee
from leads.services.cleaning import clean_text
from leads.services.history import MAX_EVENT_NOTE, lead_begin, lead_write, record_event
from sla.clocks import Routing

REASSIGNED_EVENT = "lead.reassigned"


def _new_rep(lead: Lead, assignee: User | int | None) -> User:
    if assignee is None or assignee == "":
        raise DomainError("Choose the sales rep who takes the lead over.", field="assignee")
    rep = resolve_assignee(assignee)
    if rep.pk == lead.owner_id:
        raise DomainError(
            f"The lead is already assigned to {rep.display_name}; choose another sales rep.",
            field="assignee",
        )
    return rep


def _notices(
    *, lead: Lead, event: LeadEvent, old: User | None, new: User, actor: User | None, reason: str
) -> list[Delivery]:
    """One in-app notice to each rep the change concerns (not to the one who made it)."""
    url = reverse("leads:detail", args=[lead.pk])
    wording = {
        "lost": f"{lead} was reassigned to {new.display_name}",
        "gained": f"{lead} was reassigned to you",
    }
    deliveries = []
    by = actor.display_name if actor else "Handoff"
    for rep, side in ((old, "lost"), (new, "gained")):
        if rep is None or (actor and rep.pk == actor.pk):
            continue
        deliveries.append(
            Delivery(
                channel=OutboxChannel.IN_APP,
                delivery_key=f"reassigned:{event.pk}:in_app:{rep.pk}",
                event_type=REASSIGNED_EVENT,
                payload={
                    "title": wording[side],
                    "body": f"By {by}: {reason}",
                    "url": url,
                    "data": {"lead_id": lead.pk, "lead": str(lead)},
                },
                recipient_id=rep.pk,
            )
        )
    return deliveries


@transaction.atomic
def lead_reassign(
    *,
    lead: Lead | int,
    actor: User,
    assignee: User | int | None = None,
    reason: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Lead:
    """Hand a qualified lead or an opportunity to another active sales rep, with a reason."""
    lead, now = lead_begin(lead, actor, expected_version, now, Transition.REASSIGN)
    permissions.require_reassign(actor, lead)
    rep = _new_rep(lead, assignee)
    why = clean_text("reason", reason, MAX_EVENT_NOTE)
    if not why:
        raise DomainError("Say why the lead is reassigned.", field="reason")
    old = lead.owner
    diff = lead_write(lead, {"owner": rep}, now)
    diff["transition"] = Transition.REASSIGN
    event = record_event(
        lead=lead, kind=LeadEvent.Kind.ASSIGNED, actor=actor, now=now, changes=diff, note=why
    )
    outbox_write(
        _notices(lead=lead, event=event, old=old, new=rep, actor=actor, reason=why), now=now
    )
    return lead


def lead_move_on(
    *, lead: Lead, routing: Routing, policy: str, due_at: datetime, now: datetime
) -> Lead:
    """The sweep moves a lead nobody accepted by its clock's at-risk mark to the rep the
    round robin chose (`routing`), inside the sweep's transaction with the lead locked. No
    acting person: history names the rule. The clock keeps its due time (sla.clocks moves
    it to the new owner on the ASSIGNED event); both reps are told."""
    old, rep = lead.owner, routing.chosen
    diff = lead_write(lead, {"owner": rep}, now)
    diff.update(transition=Transition.REASSIGN, routing=routing.as_json(), at_risk=policy)
    why = (
        f"Not accepted by the at-risk mark of {policy!r}: moved on to {rep.display_name}; "
        f"still due {due_at:%Y-%m-%d %H:%M} UTC."
    )
    event = record_event(
        lead=lead, kind=LeadEvent.Kind.ASSIGNED, actor=None, now=now, changes=diff, note=why
    )
    outbox_write(
        _notices(lead=lead, event=event, old=old, new=rep, actor=None, reason=why), now=now
    )
    return lead

"""Exemptions: a breach that was nobody's fault stops counting against the accountable
person once a manager agrees.

The accountable person (the breach's owner; for a breach without one, a member of its team)
asks, with a reason from the managed list and a note; a manager who is neither the owner nor
the asker approves or declines, with a note. Nothing is deleted: the breach stays in every
list, each request and decision stays beside it, and adjusted compliance (sla.metrics) leaves
approved ones out. Managers hear of a request, the asker of the decision, through the outbox.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from crm.errors import DomainError, ErrorCode
from crm.models import OutboxChannel, Role, User
from crm.outbox import Delivery, outbox_write
from crm.rights import can_decide_exemptions
from leads.models import Reason
from leads.services.cleaning import clean_reason
from sla.clocks import record_clock_events
from sla.models import Breach, BreachExemption, ExemptionState

MAX_NOTE = BreachExemption._meta.get_field("note").max_length
EXEMPTION_EVENT = "breach.exemption"


def can_request_exemption(user: User, breach: Breach) -> bool:
    if not (user.is_active and user.is_authenticated):
        return False
    if breach.owner_id is not None:
        return breach.owner_id == user.pk
    return user.role != Role.MANAGER and user.team == breach.team


def _note(value: str | None, field: str) -> str:
    note = (value or "").strip()
    if not note:
        raise DomainError("Write a note saying what happened.", field=field)
    if len(note) > MAX_NOTE:
        raise DomainError(f"{field} is too long (at most {MAX_NOTE} characters).", field=field)
    return note


def _locked_breach(breach: Breach | int) -> Breach:
    pk = breach.pk if isinstance(breach, Breach) else breach
    try:
        return Breach.objects.select_for_update().get(pk=int(pk))
    except (Breach.DoesNotExist, ValueError, TypeError) as exc:
        raise DomainError(
            f"Unknown breach {pk!r}.", code=ErrorCode.NOT_FOUND, field="breach"
        ) from exc


def _history(exemption: BreachExemption, actor: User, now: datetime, note: str) -> None:
    breach = exemption.breach
    if breach.lead_id is not None:
        detail = {
            "breach_id": breach.pk,
            "exemption": exemption.state,
            "reason": exemption.reason.label,
        }
        record_clock_events([(breach.lead_id, now, detail, note)], actor=actor)


def _notice(exemption: BreachExemption, recipient_id: int, title: str, body: str) -> Delivery:
    return Delivery(
        channel=OutboxChannel.IN_APP,
        delivery_key=f"exemption:{exemption.pk}:{exemption.state}:{recipient_id}",
        event_type=EXEMPTION_EVENT,
        payload={
            "title": title,
            "body": body,
            "url": f"/sla/breaches/#breach-{exemption.breach_id}",
        },
        recipient_id=recipient_id,
    )


@transaction.atomic
def exemption_request(
    *,
    actor: User,
    breach: Breach | int,
    reason: Reason | int | None,
    note: str,
    now: datetime | None = None,
) -> BreachExemption:
    now = now or timezone.now()
    breach = _locked_breach(breach)
    if not can_request_exemption(actor, breach):
        raise DomainError(
            "Only the person accountable for a breach asks for its exemption.",
            code=ErrorCode.FORBIDDEN,
        )
    chosen = clean_reason(reason, Reason.Kind.EXEMPTION)
    note = _note(note, "note")
    live = breach.exemptions.filter(
        state__in=[ExemptionState.REQUESTED, ExemptionState.APPROVED]
    ).first()
    if live is not None:
        raise DomainError(
            f"An exemption of this breach is already {live.get_state_display().lower()}.",
            code=ErrorCode.ILLEGAL_TRANSITION,
        )
    exemption = BreachExemption.objects.create(
        breach=breach, reason=chosen, note=note, requested_by=actor, requested_at=now
    )
    _history(exemption, actor, now, note)
    managers = User.objects.filter(role=Role.MANAGER, is_active=True).exclude(pk=actor.pk)
    outbox_write(
        [
            _notice(
                exemption,
                manager_id,
                f"{actor.display_name} asks to exempt a breach",
                f"{breach.summary}. {chosen.label}: {note}",
            )
            for manager_id in managers.values_list("pk", flat=True)
        ],
        now=now,
    )
    return exemption


@transaction.atomic
def exemption_decide(
    *,
    actor: User,
    exemption: BreachExemption | int,
    approve: bool,
    note: str,
    now: datetime | None = None,
) -> BreachExemption:
    now = now or timezone.now()
    if not can_decide_exemptions(actor):
        raise DomainError("Only managers decide exemptions.", code=ErrorCode.FORBIDDEN)
    pk = exemption.pk if isinstance(exemption, BreachExemption) else exemption
    try:
        exemption = BreachExemption.objects.select_related("reason").get(pk=int(pk))
    except (BreachExemption.DoesNotExist, ValueError, TypeError) as exc:
        raise DomainError(
            f"Unknown exemption {pk!r}.", code=ErrorCode.NOT_FOUND, field="exemption"
        ) from exc
    breach = _locked_breach(exemption.breach_id)
    exemption.refresh_from_db(fields=["state"])  # read under the breach's lock
    if actor.pk in (breach.owner_id, exemption.requested_by_id):
        raise DomainError(
            "Nobody decides the exemption of their own breach; another manager does.",
            code=ErrorCode.FORBIDDEN,
        )
    if exemption.state != ExemptionState.REQUESTED:
        raise DomainError(
            f"This exemption was already {exemption.get_state_display().lower()}.",
            code=ErrorCode.ILLEGAL_TRANSITION,
        )
    note = _note(note, "decision_note")
    exemption.state = ExemptionState.APPROVED if approve else ExemptionState.DECLINED
    exemption.decided_by, exemption.decided_at, exemption.decision_note = actor, now, note
    exemption.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    if approve:
        breach.exempted_at = now
        breach.save(update_fields=["exempted_at"])
    exemption.breach = breach
    _history(exemption, actor, now, note)
    if exemption.requested_by_id is not None:
        verdict = "approved" if approve else "declined"
        outbox_write(
            [
                _notice(
                    exemption,
                    exemption.requested_by_id,
                    f"{actor.display_name} {verdict} your exemption",
                    f"{breach.summary}. {note}",
                )
            ],
            now=now,
        )
    return exemption

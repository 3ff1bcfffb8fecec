"""One action on many leads at once, from the lead list: reassign, hand off.

Each lead goes through the single-lead service, in its own transaction, with the version the
person saw: a lead refused (rights, lifecycle, a stale version) is reported by name with the
reason and changes nothing, and never holds back the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from crm.errors import DomainError
from crm.models import User
from leads.lifecycle import Transition
from leads.models import Lead
from leads.services.transitions import lead_transition

# A page of the list holds 25 leads; a bulk action takes at most a few pages' worth.
MAX_BULK_LEADS = 100
BULK_TRANSITIONS = frozenset({Transition.REASSIGN, Transition.HAND_OFF})


@dataclass(frozen=True)
class BulkOutcome:
    lead_id: int
    name: str
    error: str = ""

    @property
    def done(self) -> bool:
        return not self.error


def leads_bulk_transition(
    *,
    actor: User,
    transition: str,
    versions: Mapping[int, int | None],
    params: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> list[BulkOutcome]:
    """Apply `transition` to each lead of `versions` (lead id -> the version the person saw),
    one transaction per lead; the outcome of each, in the order given."""
    if transition not in BULK_TRANSITIONS:
        raise DomainError(f"{transition} cannot be applied to several leads.", field="action")
    if not versions:
        raise DomainError("Select at least one lead.", field="lead")
    if len(versions) > MAX_BULK_LEADS:
        raise DomainError(f"Select at most {MAX_BULK_LEADS} leads for one action.", field="lead")
    now = now or timezone.now()
    names = {
        lead.pk: lead
        for lead in Lead.objects.filter(pk__in=list(versions)).only(
            "first_name", "last_name", "email", "persona_id", "criteria_met"
        )
    }
    outcomes = []
    for lead_id, version in versions.items():
        lead = names.get(lead_id)
        if lead is None:
            outcomes.append(BulkOutcome(lead_id, f"Lead {lead_id}", "It no longer exists."))
            continue
        lead_params = dict(params or {})
        if transition == Transition.HAND_OFF:
            # What the lead's own hand-off form starts from: the criteria already met.
            lead_params["criteria"] = lead.criteria_to_tick()
        try:
            lead_transition(
                lead=lead_id,
                actor=actor,
                transition=transition,
                params=lead_params,
                expected_version=version,
                now=now,
            )
        except DomainError as error:
            outcomes.append(BulkOutcome(lead_id, str(lead), error.message))
        else:
            outcomes.append(BulkOutcome(lead_id, str(lead)))
    return outcomes

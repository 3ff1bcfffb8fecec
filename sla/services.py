"""SLA writes. The lead services call `clocks_on_lead_event` inside their transaction."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leads.models import Lead, LeadEvent


def clocks_on_lead_event(*, lead: Lead, event: LeadEvent, now: datetime) -> None:
    """Start, meet or cancel the lead's clocks for what just happened to it.

    The SLA policies and clocks arrive with the SLA engine; until then no policy exists and
    there is nothing to start.
    """
    return None

"""Browser forms of the SLA pages: the breach report's filters and the acknowledgement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms

from crm.models import Team
from leads.periods import Period, local_today
from sla.models import BreachKind


class BreachFilterForm(forms.Form):
    """Filters of the breach report; an unusable value is dropped, never an error page."""

    team = forms.ChoiceField(required=False, choices=[("", "Both teams"), *Team.choices])
    policy = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    owner = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Rep")
    kind = forms.ChoiceField(required=False, choices=[("", "All kinds"), *BreachKind.choices])
    status = forms.ChoiceField(
        required=False,
        choices=[("", "All"), ("open", "Not acknowledged"), ("acknowledged", "Acknowledged")],
    )
    since = forms.DateField(required=False, label="From")
    until = forms.DateField(required=False, label="To")

    def __init__(
        self,
        *args: Any,
        policies: list[tuple[int, str]],
        owners: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["policy"].choices = [("", "All policies"), *policies]
        self.fields["owner"].choices = [("", "All reps"), *owners]

    def period(self, now: datetime, default_days: int) -> tuple[Period, bool]:
        """The chosen whole days in the site's zone ("To" included); without a start date,
        the last `default_days` days. Also says whether the default start was used."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        since, until = data.get("since"), data.get("until")
        recent = Period.last_days(default_days, now)
        last = until or local_today(now)
        if since is None:
            return Period(first=recent.first, last=last, zone=recent.zone), True
        return Period(first=since, last=last, zone=recent.zone), False

    def selection(self, period: Period) -> dict[str, Any]:
        """Keyword arguments for sla.selectors.breach_list from the valid fields only."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        status = data.get("status")
        return {
            "team": data.get("team") or None,
            "policy_id": data.get("policy"),
            "owner_id": data.get("owner"),
            "kind": data.get("kind") or None,
            "acknowledged": {"open": False, "acknowledged": True}.get(status or ""),
            "since": period.start,
            "until": period.end,  # "To" is inclusive: the whole day counts
        }


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What happened and what changes, for the team to read.",
    )

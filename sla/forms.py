"""Browser forms of the SLA pages: the breach report's filters, the acknowledgement and the
policy editor. They check the shape of the input; sla.services decides what is allowed."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django import forms

from crm.forms import DatePicker
from crm.models import Team, User
from leads.lifecycle import Stage
from leads.periods import Period, local_today
from sla.models import (
    WEEKDAYS,
    BreachKind,
    CommitmentPeriodKind,
    ReviewDecision,
    SlaGoal,
    SlaPolicy,
)


def percent_text(fraction: Decimal) -> str:
    """0.800 as "80" and 0.125 as "12.5" for a form field (`normalize()` alone gives "8E+1")."""
    return format((fraction * 100).normalize(), "f")


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


class PolicyForm(forms.Form):
    """An SLA policy as a manager types it: the target in hours, the at-risk point in percent.
    Any number is accepted here so the service's own message says what is wrong."""

    updated_at = forms.DateTimeField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(max_length=SlaPolicy._meta.get_field("name").max_length)
    accountable_team = forms.ChoiceField(choices=Team.choices, label="Accountable team")
    trigger_stage = forms.ChoiceField(choices=Stage.choices, label="Starts when a lead enters")
    goal = forms.ChoiceField(choices=SlaGoal.choices)
    target_hours = forms.DecimalField(
        max_digits=9, decimal_places=2, label="Target (hours)",
        help_text="Business hours when a calendar is chosen, else around the clock.",
    )  # fmt: skip
    at_risk_percent = forms.DecimalField(
        max_digits=7, decimal_places=3, initial=75, label="At risk after (% of the time used)"
    )
    calendar = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, label="Working calendar"
    )
    escalate_to = forms.TypedMultipleChoiceField(
        coerce=int, required=False, label="Also tell", help_text="Nobody ticked: every manager."
    )
    notify_owner = forms.BooleanField(required=False, initial=True, label="Tell the lead's owner")
    met_by_update = forms.BooleanField(
        required=False, label="An update to the lead also meets the goal (leave-the-stage only)"
    )
    reassign_at_risk = forms.BooleanField(
        required=False,
        label="Reassign at the at-risk mark: a lead still unaccepted moves on to the next "
        "eligible rep, once; the due time stays (accept only)",
    )
    active = forms.BooleanField(required=False, initial=True)

    def __init__(
        self,
        *args: Any,
        calendars: list[tuple[int, str]] = (),
        people: list[tuple[int, str]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["calendar"].choices = [("", "Around the clock"), *calendars]
        self.fields["escalate_to"].choices = list(people)

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "accountable_team": data["accountable_team"],
            "trigger_stage": data["trigger_stage"],
            "goal": data["goal"],
            "target": timedelta(hours=float(data["target_hours"])),
            "at_risk_fraction": data["at_risk_percent"] / 100,
            "calendar": data["calendar"],
            "escalate_to": data["escalate_to"],
            "notify_owner": data["notify_owner"],
            "met_by_update": data["met_by_update"],
            "reassign_at_risk": data["reassign_at_risk"],
            "active": data["active"],
        }

    @staticmethod
    def initial_for(policy: SlaPolicy) -> dict[str, Any]:
        return {
            "updated_at": policy.updated_at,
            "name": policy.name,
            "accountable_team": policy.accountable_team,
            "trigger_stage": policy.trigger_stage,
            "goal": policy.goal,
            "target_hours": round(policy.target.total_seconds() / 3600, 2),
            "at_risk_percent": percent_text(policy.at_risk_fraction),
            "calendar": policy.calendar_id,
            "escalate_to": [user.pk for user in policy.escalate_to.all()],
            "notify_owner": policy.notify_owner,
            "met_by_update": policy.met_by_update,
            "reassign_at_risk": policy.reassign_at_risk,
            "active": policy.active,
        }


# The service's field names, as the policy form names them ("": above the form, for the
# hidden version stamp a person cannot correct).
POLICY_FORM_FIELD = {
    "target": "target_hours",
    "at_risk_fraction": "at_risk_percent",
    "updated_at": "",
}


WEEKDAY_NAMES = tuple(day.lower() for day in WEEKDAYS)


class CalendarForm(forms.Form):
    """Working hours typed per weekday as "09:00-12:30, 13:30-18:00" (blank: a day off)."""

    name = forms.CharField(max_length=120)
    timezone = forms.CharField(
        max_length=64, label="Time zone", help_text="An IANA name such as Europe/London."
    )
    holidays = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Dates off, YYYY-MM-DD, separated by commas or lines.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for day in WEEKDAY_NAMES:
            self.fields[day] = forms.CharField(
                required=False, max_length=200, label=day.capitalize()
            )

    def weekdays(self) -> list[forms.BoundField]:
        return [self[day] for day in WEEKDAY_NAMES]

    def service_fields(self) -> dict[str, Any]:
        """Intervals as the service takes them; a malformed one is passed on as typed, so
        the service's message names it."""
        data = self.cleaned_data
        hours = {
            str(n): [piece.strip().split("-") for piece in data[day].split(",") if piece.strip()]
            for n, day in enumerate(WEEKDAY_NAMES)
        }
        holidays = [d.strip() for d in re.split(r"[,\s]+", data["holidays"]) if d.strip()]
        return {
            "name": data["name"],
            "timezone": data["timezone"].strip(),
            "weekly_hours": {day: spans for day, spans in hours.items() if spans},
            "holidays": holidays,
        }

    @staticmethod
    def initial_for(calendar: Any) -> dict[str, Any]:
        hours = calendar.weekly_hours or {}
        return {
            "name": calendar.name,
            "timezone": calendar.timezone,
            "holidays": ", ".join(calendar.holidays or []),
            **{
                day: ", ".join(f"{a}-{b}" for a, b in hours.get(str(n), []))
                for n, day in enumerate(WEEKDAY_NAMES)
            },
        }


# The calendar service's fields, as the form names them ("": above the form).
CALENDAR_FORM_FIELD = {"weekly_hours": "", "timezone": "timezone", "holidays": "holidays"}


class CommitmentForm(forms.Form):
    """Marketing's promise per period: volume, and optionally the share sales accepts."""

    name = forms.CharField(max_length=120)
    period = forms.ChoiceField(choices=CommitmentPeriodKind.choices)
    target_qualified = forms.IntegerField(label="Qualified leads handed over, at least")
    min_acceptance_percent = forms.DecimalField(
        required=False, max_digits=7, decimal_places=3, label="Accepted by sales, at least (%)"
    )
    timezone = forms.CharField(
        max_length=64, initial="Europe/London", label="Time zone the periods follow"
    )
    starts_on = forms.DateField(label="Starts on", widget=DatePicker())

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        rate = data["min_acceptance_percent"]
        return {
            "name": data["name"],
            "period": data["period"],
            "target_qualified": data["target_qualified"],
            "min_acceptance_rate": None if rate is None else rate / 100,
            "timezone_name": data["timezone"].strip(),
            "starts_on": data["starts_on"],
        }


class CommitmentEditForm(CommitmentForm):
    """An existing commitment: the same fields, whether it still counts, and the version the
    editor started from (a later edit by someone else refuses this one)."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    active = forms.BooleanField(
        required=False,
        label="Active",
        help_text="An inactive commitment is no longer measured nor evaluated.",
    )

    def service_fields(self) -> dict[str, Any]:
        fields = super().service_fields()
        fields["timezone"] = fields.pop("timezone_name")
        fields["active"] = self.cleaned_data["active"]
        return fields

    @staticmethod
    def initial_for(commitment: Any) -> dict[str, Any]:
        rate = commitment.min_acceptance_rate
        return {
            "version": commitment.version,
            "name": commitment.name,
            "period": commitment.period,
            "target_qualified": commitment.target_qualified,
            "min_acceptance_percent": None if rate is None else percent_text(rate),
            "timezone": commitment.timezone,
            "starts_on": commitment.starts_on,
            "active": commitment.active,
        }


# The commitment service's fields, as the forms name them ("": above the form).
COMMITMENT_FORM_FIELD = {"min_acceptance_rate": "min_acceptance_percent", "version": ""}


class DecisionForm(forms.Form):
    """A decision or action item as a manager types it during the review."""

    text = forms.CharField(
        max_length=ReviewDecision._meta.get_field("text").max_length,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Decision or action",
    )
    owner = forms.TypedChoiceField(coerce=int, label="Owner")
    due_on = forms.DateField(
        label="Due", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args: Any, people: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "Choose…")] + [
            (person.pk, f"{person.display_name} ({person.get_role_display()})") for person in people
        ]


class DecisionCloseForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    outcome = forms.CharField(
        required=False,
        max_length=ReviewDecision._meta.get_field("outcome").max_length,
        label="What came of it",
    )


class AbsenceForm(forms.Form):
    """Out of office, whole days in the rep's working zone."""

    rep = forms.TypedChoiceField(coerce=int, label="Sales rep")
    first_day = forms.DateField(
        label="First day away", widget=forms.DateInput(attrs={"type": "date"})
    )
    last_day = forms.DateField(
        label="Last day away", widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(
        required=False,
        max_length=200,
        label="Note",
        help_text="Optional, for the team: holiday, training, a conference...",
    )

    def __init__(self, *args: Any, reps: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rep"].choices = reps


class AvailabilityForm(forms.Form):
    """A manager's settings for one rep: own working calendar and capacity."""

    calendar = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label="Working hours"
    )
    capacity = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=1000,
        label="Capacity",
        help_text="Most leads waiting for this rep's acceptance at once; empty: no limit.",
    )

    def __init__(self, *args: Any, calendars: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["calendar"].choices = [("", "The team's hours"), *calendars]

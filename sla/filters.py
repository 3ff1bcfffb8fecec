"""FilterSets for the SLA lists: clocks (by the state a page shows) and breaches.

Clock states are filtered as a page shows them (`SlaClock.objects.shown_as`), so a clock
past due is `breached` here even before the sweep has flagged it.
"""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.utils import timezone

from crm.filters import BOOLEAN_CHOICES, as_bool
from crm.models import Team, User
from leads.models import Lead
from sla.models import Breach, ClockState, SlaClock, SlaClockQuerySet, SlaPolicy

SHOWN_STATE_CHOICES = ClockState.choices


class ClockFilterSet(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        choices=SHOWN_STATE_CHOICES,
        method="filter_state",
        help_text="The state as of now; past-due open clocks count as breached.",
    )
    policy = django_filters.ModelChoiceFilter(queryset=SlaPolicy.objects.all())
    lead = django_filters.ModelChoiceFilter(queryset=Lead.objects.all())
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.all(), help_text="User id.")
    team = django_filters.ChoiceFilter(choices=Team.choices)

    class Meta:
        model = SlaClock
        fields: list[str] = []

    def filter_state(self, queryset: SlaClockQuerySet, name: str, value: str) -> QuerySet:
        if not value:
            return queryset
        return queryset.shown_as(value, timezone.now())


class BreachFilterSet(django_filters.FilterSet):
    team = django_filters.ChoiceFilter(choices=Team.choices)
    policy = django_filters.ModelChoiceFilter(queryset=SlaPolicy.objects.all())
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.all(), help_text="User id.")
    acknowledged = django_filters.TypedChoiceFilter(
        choices=BOOLEAN_CHOICES, coerce=as_bool, method="filter_acknowledged"
    )
    since = django_filters.IsoDateTimeFilter(
        field_name="breached_at", lookup_expr="gte", help_text="Breached at or after (ISO 8601)."
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="breached_at", lookup_expr="lt", help_text="Breached before (ISO 8601)."
    )

    class Meta:
        model = Breach
        fields: list[str] = []

    def filter_acknowledged(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None or value == "":
            return queryset
        return queryset.filter(acknowledged_at__isnull=not value)

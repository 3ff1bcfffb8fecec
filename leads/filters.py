"""The one FilterSet for leads: the API list and the leads page filter with the same rules.

Every filter validates its input (an unknown stage, owner or malformed date is a form
error, which the API answers with 400 naming the parameter). `sla_state` keeps the list's
query count constant: it is one EXISTS subquery, whatever the page size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from crm.filters import BOOLEAN_CHOICES, as_bool
from crm.models import Team, User
from leads.lifecycle import OPEN_STAGES, Stage
from leads.models import Campaign, Lead, Persona
from leads.pagination import NEWEST, Sort
from leads.search import MAX_TERM

# `ordering` values a list may ask for, and the ORDER BY each means (id breaks ties).
LEAD_ORDERINGS: dict[str, tuple[str, ...]] = {
    "-created_at": ("-created_at", "-id"),
    "created_at": ("created_at", "id"),
    "-updated_at": ("-updated_at", "-id"),
    "updated_at": ("updated_at", "id"),
    "-stage_changed_at": ("-stage_changed_at", "-id"),
    "stage_changed_at": ("stage_changed_at", "id"),
    # Most urgent first: the earliest SLA goal still awaited, leads without one last. The
    # list annotates `due_order` (sla.selectors.with_due_order) when this order is asked for.
    "due": ("due_order", "id"),
    "last_name": ("last_name", "id"),
    "-last_name": ("-last_name", "-id"),
    "company": ("company", "id"),
    "-company": ("-company", "-id"),
}
DUE_ORDERING = "due"

# The lead page's orders, by the same `ordering` values; each keeps keyset pages.
LIST_SORTS: dict[str, Sort] = {
    "-created_at": NEWEST,
    "created_at": Sort("Oldest first", "created_at", descending=False, is_time=True),
    DUE_ORDERING: Sort("Most urgent first", "due_order", descending=False, is_time=True),
    "last_name": Sort("Last name A to Z", "last_name", descending=False),
    "-last_name": Sort("Last name Z to A", "last_name", descending=True),
    "company": Sort("Company A to Z", "company", descending=False),
    "-company": Sort("Company Z to A", "company", descending=True),
}
# Sortable columns of the lead table: the order a first click asks for, then the other way.
SORTABLE_COLUMNS: dict[str, tuple[str, str | None]] = {
    "name": ("last_name", "-last_name"),
    "due": (DUE_ORDERING, None),
    "company": ("company", "-company"),
    "created": ("-created_at", "created_at"),
}
DEFAULT_LEAD_ORDERING = LEAD_ORDERINGS["-created_at"]


SLA_STATE_CHOICES = [("running", "Running"), ("at_risk", "At risk"), ("breached", "Breached")]


class LeadFilterSet(django_filters.FilterSet):
    stage = django_filters.MultipleChoiceFilter(
        choices=Stage.choices, help_text="One or more stages (repeat the parameter)."
    )
    is_open = django_filters.TypedChoiceFilter(
        choices=BOOLEAN_CHOICES, coerce=as_bool, method="filter_open", help_text="Open stages."
    )
    team = django_filters.ChoiceFilter(
        field_name="owner_team", choices=Team.choices, help_text="Owning team."
    )
    owner = django_filters.ModelChoiceFilter(
        queryset=User.objects.filter(is_active=True), help_text="Assigned user id."
    )
    campaign = django_filters.ModelChoiceFilter(queryset=Campaign.objects.all())
    persona = django_filters.ModelChoiceFilter(queryset=Persona.objects.all())
    accepted = django_filters.TypedChoiceFilter(
        choices=BOOLEAN_CHOICES,
        coerce=as_bool,
        method="filter_accepted",
        help_text="Accepted by sales.",
    )
    created_after = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="Created at or after (ISO 8601)."
    )
    created_before = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="Created before (ISO 8601)."
    )
    sla_state = django_filters.ChoiceFilter(
        choices=SLA_STATE_CHOICES,
        method="filter_sla_state",
        help_text="Leads with an open SLA clock in this state as of now "
        "(breached includes running clocks already past due).",
    )
    q = django_filters.CharFilter(
        method="filter_search",
        max_length=MAX_TERM,
        help_text="Text in the name, company, e-mail or external id; case and accents ignored, "
        "`%`, `_` and `\\` matched literally.",
    )

    class Meta:
        model = Lead
        fields: list[str] = []

    def filter_open(self, queryset: QuerySet[Lead], name: str, value: bool | None) -> QuerySet:
        if value is None or value == "":
            return queryset
        if value:
            return queryset.filter(stage__in=OPEN_STAGES)
        return queryset.exclude(stage__in=OPEN_STAGES)

    def filter_accepted(self, queryset: QuerySet[Lead], name: str, value: bool | None) -> QuerySet:
        if value is None or value == "":
            return queryset
        return queryset.filter(accepted_at__isnull=not value)

    def filter_sla_state(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet:
        if not value:
            return queryset
        from sla.models import SlaClock

        # Only clocks still waiting for their goal count; a clock settled long ago is
        # history, not the state.
        clocks = (
            SlaClock.objects.awaiting_goal()
            .shown_as(value, timezone.now())
            .filter(lead=OuterRef("pk"))
        )
        return queryset.filter(Exists(clocks))

    def filter_search(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet:
        return queryset.search(value)  # type: ignore[attr-defined]


class LeadFilter(LeadFilterSet):
    """The same filters for the leads page, with the labels a person reads in a form.

    The page's view reads the owner, campaign and persona options and hands them in: they
    fill the selects and are what a chosen id is checked against (one query each, not two).
    """

    stage = django_filters.ChoiceFilter(choices=Stage.choices, empty_label="Any stage")
    owner = django_filters.ChoiceFilter(empty_label="Anyone")
    team = django_filters.ChoiceFilter(
        field_name="owner_team", choices=Team.choices, empty_label="Any team"
    )
    campaign = django_filters.ChoiceFilter(empty_label="Any campaign")
    persona = django_filters.ChoiceFilter(empty_label="Any persona")
    # A person picks whole days: "created to" includes that day.
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        queryset: QuerySet[Lead] | None = None,
        *,
        owners: Sequence[tuple[str, str]] = (),
        campaigns: Sequence[tuple[str, str]] = (),
        personas: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(data, queryset=queryset)
        for name, choices in (("owner", owners), ("campaign", campaigns), ("persona", personas)):
            self.filters[name].extra["choices"] = choices

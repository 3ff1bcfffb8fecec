"""The one FilterSet for leads: the API list and the leads page filter with the same rules.

Every filter validates its input (an unknown stage, owner or malformed date is a form
error, which the API answers with 400 naming the parameter). `sla_state` keeps the list's
query count constant: it is one EXISTS subquery, whatever the page size.
"""

from __future__ import annotations

import copy

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from crm.filters import BOOLEAN_CHOICES, as_bool
from crm.models import Role, Team, User
from leads.filter_fields import ListedModelChoiceFilter, PlainSelect
from leads.lifecycle import OPEN_STAGES, Stage
from leads.models import Campaign, Lead, Persona

MAX_SEARCH = 200

# `ordering` values a list may ask for, and the ORDER BY each means (id breaks ties).
LEAD_ORDERINGS: dict[str, tuple[str, ...]] = {
    "-created_at": ("-created_at", "-id"),
    "created_at": ("created_at", "id"),
    "-updated_at": ("-updated_at", "-id"),
    "updated_at": ("updated_at", "id"),
    "-stage_changed_at": ("-stage_changed_at", "-id"),
    "stage_changed_at": ("stage_changed_at", "id"),
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
        max_length=MAX_SEARCH,
        help_text="Text in name, email, company or external id.",
    )

    class Meta:
        model = Lead
        fields: list[str] = []

    @classmethod
    def form_class(cls) -> type[forms.Form]:
        """The validating form, built once per class (django-filter builds a new form class
        for every request): none of these fields depends on the request."""
        built = cls.__dict__.get("_form_class")
        if built is None:
            fields = {name: copy.deepcopy(f).field for name, f in cls.base_filters.items()}
            built = type(f"{cls.__name__}Form", (cls._meta.form,), fields)
            cls._form_class = built
        return built

    def get_form_class(self) -> type[forms.Form]:
        return self.form_class()

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
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(email_normalized__icontains=value.lower())
            | Q(first_name__icontains=value)
            | Q(last_name__icontains=value)
            | Q(company__icontains=value)
            | Q(external_id=value)
        )


class LeadFilter(LeadFilterSet):
    """The same filters for the leads page, with the labels a person reads in a form.

    Its selects read their options once (shared with the check of the submitted id) and
    render in Python: see leads.filter_fields."""

    stage = django_filters.ChoiceFilter(
        choices=Stage.choices, empty_label="Any stage", widget=PlainSelect
    )
    # The options need only what they show (a user's label is the username).
    owner = ListedModelChoiceFilter(
        queryset=User.objects.filter(is_active=True)
        .exclude(role=Role.INTEGRATION)
        .only("username"),
        empty_label="Anyone",
        widget=PlainSelect,
    )
    team = django_filters.ChoiceFilter(
        field_name="owner_team", choices=Team.choices, empty_label="Any team", widget=PlainSelect
    )
    campaign = ListedModelChoiceFilter(
        queryset=Campaign.objects.only("name"), empty_label="Any campaign", widget=PlainSelect
    )
    persona = ListedModelChoiceFilter(
        queryset=Persona.objects.only("name"), empty_label="Any persona", widget=PlainSelect
    )
    # A person picks whole days: "created to" includes that day.
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")

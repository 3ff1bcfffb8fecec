"""One FilterSet for the lead list, shared by the leads page and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from crm.models import Role, Team, User
from leads.lifecycle import Stage
from leads.models import Campaign, Lead, Persona


class LeadFilter(django_filters.FilterSet):
    stage = django_filters.ChoiceFilter(choices=Stage.choices, empty_label="Any stage")
    owner = django_filters.ModelChoiceFilter(
        queryset=User.objects.filter(is_active=True).exclude(role=Role.INTEGRATION),
        empty_label="Anyone",
    )
    team = django_filters.ChoiceFilter(
        field_name="owner_team", choices=Team.choices, empty_label="Any team"
    )
    campaign = django_filters.ModelChoiceFilter(
        queryset=Campaign.objects.all(), empty_label="Any campaign"
    )
    persona = django_filters.ModelChoiceFilter(
        queryset=Persona.objects.all(), empty_label="Any persona"
    )
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")
    q = django_filters.CharFilter(method="search", label="Search")

    class Meta:
        model = Lead
        fields = ["stage", "owner", "team", "campaign", "persona"]

    def search(self, queryset, name: str, value: str):
        """Name, email or company contains the words; an email is matched on its start."""
        value = value.strip()[:100]
        if not value:
            return queryset
        return queryset.filter(
            Q(email_normalized__startswith=value.lower())
            | Q(first_name__icontains=value)
            | Q(last_name__icontains=value)
            | Q(company__icontains=value)
        )

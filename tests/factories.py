"""factory_boy factories: the same people and records in every test."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from django.utils import timezone

from crm.models import Role, Team, User
from leads.lifecycle import Stage
from leads.models import Campaign, Lead, Persona
from sla.models import BusinessCalendar, SlaGoal, SlaPolicy
from sla.services import calendar_create, policy_create

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@handoff.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.MARKETER
    team = factory.LazyAttribute(
        lambda u: {
            Role.MARKETER: Team.MARKETING,
            Role.SALES_REP: Team.SALES,
            Role.INTEGRATION: Team.MARKETING,
        }.get(u.role, "")
    )
    password = factory.django.Password(TEST_PASSWORD)


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    channel = Campaign.Channel.WEBINAR
    budget = 10000
    spend = 2500


class PersonaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Persona

    name = factory.Sequence(lambda n: f"Persona {n}")


class LeadFactory(factory.django.DjangoModelFactory):
    """A lead written straight to the table, for reads. Changes go through the services."""

    class Meta:
        model = Lead

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    email_normalized = factory.LazyAttribute(lambda o: o.email.lower())
    company = factory.Faker("company")
    stage = Stage.ENGAGED
    owner_team = Team.MARKETING
    stage_changed_at = factory.LazyFunction(timezone.now)
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)


# SLA configuration is written through its services, so every factory-made calendar and
# policy passed the same checks as a manager's.


def weekday_hours(*spans: tuple[str, str]) -> dict[str, list[list[str]]]:
    """Working hours Monday to Friday, as `calendar_create` takes them."""
    return {str(day): [list(span) for span in spans] for day in range(5)}


ALWAYS_OPEN = {str(day): [["00:00", "00:00"]] for day in range(7)}


class ManagerFactory(UserFactory):
    """The `manager` persona of the shared fixtures: one row, looked up by its username."""

    username = "max.manager"
    first_name = "Max"
    role = Role.MANAGER


class BusinessCalendarFactory(factory.django.DjangoModelFactory):
    """London office hours (Monday to Friday, 09:00-17:00) unless told otherwise;
    `always_open=True` is a UTC calendar that never closes."""

    class Meta:
        model = BusinessCalendar

    class Params:
        always_open = factory.Trait(timezone="UTC", weekly_hours=ALWAYS_OPEN)

    actor = factory.SubFactory(ManagerFactory)
    name = factory.Sequence(lambda n: f"Calendar {n}")
    timezone = "Europe/London"
    weekly_hours = factory.LazyFunction(lambda: weekday_hours(("09:00", "17:00")))
    holidays = factory.LazyFunction(list)
    now = None

    @classmethod
    def _create(
        cls, model_class: type[BusinessCalendar], *, actor: User, timezone: str, **fields: Any
    ) -> BusinessCalendar:
        return calendar_create(actor=actor, timezone_name=timezone, **fields)


class SlaPolicyFactory(factory.django.DjangoModelFactory):
    """Sales accepts or rejects a qualified lead within four hours, around the clock (no
    calendar) unless told otherwise; `new_lead_touch=True` is marketing's first touch of an
    engaged lead instead. Any other policy field passes through as given."""

    class Meta:
        model = SlaPolicy

    class Params:
        new_lead_touch = factory.Trait(
            goal=SlaGoal.FIRST_TOUCH, trigger_stage=Stage.ENGAGED, accountable_team=Team.MARKETING
        )

    actor = factory.SubFactory(ManagerFactory)
    name = factory.Sequence(lambda n: f"Policy {n}")
    goal = SlaGoal.ACCEPT
    trigger_stage = Stage.QUALIFIED
    target = timedelta(hours=4)
    accountable_team = Team.SALES
    now = None

    @classmethod
    def _create(
        cls, model_class: type[SlaPolicy], *, actor: User, now: Any, **fields: Any
    ) -> SlaPolicy:
        return policy_create(actor=actor, fields=fields, now=now)

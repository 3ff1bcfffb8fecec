"""factory_boy factories: the same people and records in every test."""

from __future__ import annotations

import factory
from django.utils import timezone

from crm.models import Role, Team, User
from leads.lifecycle import Stage
from leads.models import Campaign, Lead, Persona

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

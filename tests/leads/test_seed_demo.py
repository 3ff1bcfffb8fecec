from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db.models import Count

from crm.models import User
from leads.lifecycle import Stage
from leads.models import Activity, Campaign, Lead, LeadEvent, Persona

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "campaigns": Campaign.objects.count(),
        "personas": Persona.objects.count(),
        "leads": Lead.objects.count(),
        "events": LeadEvent.objects.count(),
        "activities": Activity.objects.count(),
    }


def test_seed_demo_builds_a_working_team_and_is_idempotent():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    first = counts()
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert counts() == first
    assert 450 <= first["leads"] <= 550
    by_stage = dict(Lead.objects.values_list("stage").annotate(n=Count("id")))
    assert set(by_stage) == set(Stage.values)
    assert first["activities"] > 100
    assert first["events"] > first["leads"] * 2
    assert Lead.objects.filter(stage=Stage.QUALIFIED, accepted_at__isnull=True).exists()
    roles = set(User.objects.values_list("role", flat=True))
    assert {"marketer", "sales_rep", "manager"} <= roles


def test_demo_passwords_are_stored_hashed(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    from leads.demo import DEMO_PASSWORD, seed_people

    seed_people()
    user = User.objects.get(username="mike")
    assert user.password.startswith("argon2")
    assert DEMO_PASSWORD not in user.password
    assert user.check_password(DEMO_PASSWORD)

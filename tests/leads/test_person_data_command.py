"""The operator's door to a data subject request: export prints, erase erases, dry-run doesn't."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from leads.models import Lead

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("person_data", *args, stdout=out)
    return out.getvalue()


def test_it_exports_the_person_as_json(make_lead, manager) -> None:
    lead = make_lead(email="jo@acme.example", first_name="Jo")

    exported = json.loads(run("export", "Jo@Acme.example", "--user", manager.username))

    assert [item["id"] for item in exported["leads"]] == [lead.pk]
    assert exported["leads"][0]["first_name"] == "Jo"


def test_it_erases_only_when_not_a_dry_run(make_lead, manager) -> None:
    lead = make_lead(email="jo@acme.example", first_name="Jo")

    assert run("erase", "jo@acme.example", "--user", manager.username, "--dry-run") == (
        f"would erase leads: {lead.pk}\n"
    )
    assert Lead.objects.get(pk=lead.pk).first_name == "Jo"

    assert run("erase", "jo@acme.example", "--user", manager.username) == (
        f"erased leads: {lead.pk}\n"
    )
    assert Lead.objects.get(pk=lead.pk).first_name == ""


def test_it_refuses_a_non_manager_with_the_services_message(make_lead, marketer) -> None:
    make_lead(email="jo@acme.example")

    with pytest.raises(CommandError, match="Only managers"):
        run("erase", "jo@acme.example", "--user", marketer.username)

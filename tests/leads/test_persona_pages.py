"""Personas added and reworded on a page by marketing and managers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from leads.models import Persona
from tests.factories import PersonaFactory

pytestmark = pytest.mark.django_db


def test_a_marketer_adds_and_rewords_a_persona(client, marketer):
    client.force_login(marketer)
    response = client.post(
        reverse("leads:persona_new"), {"name": "RevOps lead", "description": "Owns the CRM."}
    )
    assert response.status_code == 302
    persona = Persona.objects.get(name="RevOps lead")
    client.post(
        reverse("leads:persona_edit", args=[persona.pk]),
        {"name": "Head of RevOps", "description": "Owns the CRM budget."},
    )
    persona.refresh_from_db()
    assert (persona.name, persona.description) == ("Head of RevOps", "Owns the CRM budget.")
    assert "Head of RevOps" in client.get(reverse("leads:definitions")).content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [({"name": "  "}, "This field is required."), ({"name": "taken"}, "A persona named")],
)
def test_it_refuses_a_bad_persona_keeping_what_was_typed(client, marketer, data, message):
    PersonaFactory(name="Taken")
    client.force_login(marketer)
    response = client.post(reverse("leads:persona_new"), {**data, "description": "Kept text"})
    page = response.content.decode()
    assert response.status_code == 200
    assert message in page and "Kept text" in page
    assert Persona.objects.count() == 1


def test_a_sales_rep_cannot_change_personas(client, sales_rep):
    persona = PersonaFactory(name="Taken")
    client.force_login(sales_rep)
    url = reverse("leads:persona_edit", args=[persona.pk])
    assert client.post(url, {"name": "Mine now"}).status_code == 403
    assert Persona.objects.get(pk=persona.pk).name == "Taken"

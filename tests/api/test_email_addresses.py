"""E-mail addresses over the API: one spelling for duplicates, and a refusal that says why."""

from __future__ import annotations

import pytest

from leads.models import Lead

pytestmark = pytest.mark.django_db


def test_it_refuses_a_non_ascii_mailbox_and_says_why(integration) -> None:
    response = integration.post("/api/v1/leads/", {"email": "s\u00f8ren@acme.example"}, "json")

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["pointer"] == "/email"
    assert "non-ASCII characters before the @" in error["message"]
    assert "RFC 6531" in error["message"]
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    "look_alike",
    ["zw@acme.example\u200b", "zw@ac\u00adme.example", "zw@\uff41\uff43\uff4d\uff45.example"],
)
def test_a_look_alike_address_is_the_same_person(integration, look_alike) -> None:
    first = integration.post("/api/v1/leads/", {"email": "zw@acme.example"}, "json")
    again = integration.post("/api/v1/leads/", {"email": look_alike}, "json")

    assert again.status_code == 409
    assert again.json()["existing_id"] == first.json()["id"]
    assert Lead.objects.count() == 1

"""The API list's `q`: the same search as the leads page (leads/search.py), its refusals named."""

from __future__ import annotations

import pytest

from crm.keys import ApiScope
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def ids(client, term: str) -> list[int]:
    response = client.get("/api/v1/leads/", {"q": term})
    assert response.status_code == 200, response.content
    return [lead["id"] for lead in response.json()["results"]]


def test_it_searches_names_companies_emails_literally(integration) -> None:
    jo = LeadFactory(
        first_name="Jo", last_name="Bloggs", company="50% Off Ltd", email="jo.bloggs@acme.example"
    )
    near = LeadFactory(
        first_name="Jo", last_name="Blogs", company="500 Offices", email="jo.blogs@acme.example"
    )

    assert ids(integration, "jo bloggs") == [jo.pk]
    assert ids(integration, "50%") == [jo.pk]
    assert ids(integration, "JO.BLOGGS@") == [jo.pk]
    assert set(ids(integration, "JO")) == {jo.pk, near.pk}


@pytest.mark.postgres
def test_it_ignores_accents(integration) -> None:
    garcia = LeadFactory(last_name="García", company="Plain")

    assert ids(integration, "GARCIA") == [garcia.pk]


@pytest.mark.parametrize(
    ("term", "message"),
    [("x" * 10_000, "at most 200 characters"), ("a\x00b", "Null characters")],
)
def test_it_refuses_an_impossible_term_naming_q(integration, term: str, message: str) -> None:
    response = integration.get("/api/v1/leads/", {"q": term})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    error = response.json()["errors"][0]
    assert error["pointer"] == "/q"
    assert message in error["message"]


def test_it_needs_the_read_scope(key_client) -> None:
    LeadFactory(company="Hidden")

    response = key_client([ApiScope.LEADS_WRITE]).get("/api/v1/leads/", {"q": "hidden"})

    assert response.status_code == 403
    assert "Hidden" not in response.content.decode()

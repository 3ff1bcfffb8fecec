"""If-Match as HTTP defines it: strong comparison, opaque tags (unknown ones are 412, not
400), lists of tags, and `*` for "the lead as it is"."""

from __future__ import annotations

import pytest

from leads.models import Lead
from tests.conftest import ALL_REQUIRED_CRITERIA


@pytest.fixture
def url(engaged_lead) -> str:
    return f"/api/v1/leads/{engaged_lead.pk}/"


def patch(client, url: str, if_match: str, company: str = "Acme Freight"):
    return client.patch(url, {"company": company}, format="json", HTTP_IF_MATCH=if_match)


@pytest.mark.parametrize(
    "if_match",
    ['W/"1"', '"stale-version-0"', '""', '"v1"', '"01"', 'W/"1", "7"', '"99999999999"'],
)
def test_it_answers_a_tag_it_did_not_issue_or_a_weak_one_with_412(
    integration, engaged_lead, url, if_match
) -> None:
    assert engaged_lead.version == 1

    response = patch(integration, url, if_match)

    assert response.status_code == 412, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "stale"
    assert response.json()["errors"][0]["pointer"] == "/If-Match"
    assert Lead.objects.get().version == 1


@pytest.mark.parametrize("if_match", ['"1"', '"7", "1"', ' "1" ', '"stale-version-0", "1"'])
def test_it_matches_any_strong_tag_of_a_list(integration, engaged_lead, url, if_match) -> None:
    response = patch(integration, url, if_match)

    assert response.status_code == 200, response.content
    assert response["ETag"] == '"2"'


def test_a_star_matches_the_lead_as_it_is(integration, engaged_lead, url) -> None:
    patch(integration, url, '"1"', company="First")

    response = patch(integration, url, "*", company="Second")

    assert response.status_code == 200, response.content
    assert (Lead.objects.get().company, response["ETag"]) == ("Second", '"3"')


def test_a_star_still_needs_the_lead_to_exist(integration, db) -> None:
    response = patch(integration, "/api/v1/leads/999999/", "*")

    assert response.status_code == 404


def test_transitions_follow_the_same_rules(as_user, marketer, sales_rep, url) -> None:
    body = {"transition": "hand_off", "assignee": sales_rep.pk, "criteria": ALL_REQUIRED_CRITERIA}
    client = as_user(marketer)

    weak = client.post(f"{url}transitions/", body, format="json", HTTP_IF_MATCH='W/"1"')
    star = client.post(f"{url}transitions/", body, format="json", HTTP_IF_MATCH="*")

    assert weak.status_code == 412
    assert star.status_code == 200, star.content
    assert star.json()["stage"] == "qualified"


@pytest.mark.parametrize("if_match", ["1", "abc", "W/1", '"1', "**"])
def test_a_header_that_is_no_entity_tag_is_a_400_naming_it(
    integration, engaged_lead, url, if_match
) -> None:
    response = patch(integration, url, if_match)

    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "/If-Match"

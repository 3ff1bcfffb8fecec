"""The joint review over the API: the same sections and figures as the page, and decisions
as a resource with rights, ETags and history."""

from __future__ import annotations

import pytest
import time_machine
from rest_framework.test import APIClient

from sla.review.periods import review_period
from sla.review.sections import joint_review
from tests.sla.review_world import AFTER, WEEK, build_review_world

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_it_answers_the_sections_of_the_page(manager, marketer, sales_rep, make_lead):
    build_review_world(manager=manager, marketer=marketer, sales_rep=sales_rep, make_lead=make_lead)
    with time_machine.travel(AFTER, tick=False):
        body = _client(sales_rep).get(f"/api/v1/reports/joint-review/?period={WEEK}").json()
    review = joint_review(review_period(WEEK, now=AFTER), AFTER)
    assert body["period"]["key"] == WEEK and body["previous"]["key"] == "2026-W47"
    headline = {row["key"]: row for row in body["headline"]}
    for change in review.headline:
        assert headline[change.now.key]["shown"] == change.now.shown
        assert headline[change.now.key]["change"] == change.shown
    assert headline["handed_off"]["value"] == 6 and headline["handed_off"]["previous_value"] == 1
    assert [(g["reason"], g["count"]) for g in body["rejected"]] == [
        ("Too small", 2),
        ("No budget", 1),
    ]
    assert [d["status"] for d in body["decisions"]] == ["open", "closed"]
    assert body["commitments"][0]["status"] == "met"


def test_a_bad_period_is_a_400_naming_it(marketer):
    response = _client(marketer).get("/api/v1/reports/joint-review/?period=2026-W60")
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "/period"


def test_decisions_record_close_with_etag_and_history(manager, marketer, sales_rep):
    body = {
        "text": "Call webinar leads within the hour",
        "owner": sales_rep.pk,
        "due_on": "2026-12-04",
    }
    assert (
        _client(marketer).post("/api/v1/review-decisions/", body, format="json").status_code == 403
    )
    made = _client(manager).post("/api/v1/review-decisions/", body, format="json")
    assert made.status_code == 201 and made["ETag"] == '"1"'
    url = made["Location"]
    assert _client(marketer).get(url)["ETag"] == '"1"'
    close = f"{url}close/"
    refused = _client(marketer).post(close, {"outcome": "x"}, format="json", HTTP_IF_MATCH='"1"')
    assert refused.status_code == 403
    owner = _client(sales_rep)
    assert owner.post(close, {"outcome": "x"}, format="json").status_code == 428
    assert owner.post(close, {}, format="json", HTTP_IF_MATCH='"7"').status_code == 412
    closed = owner.post(close, {"outcome": "Done"}, format="json", HTTP_IF_MATCH='"1"')
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert closed["ETag"] == '"2"'
    again = _client(manager).post(close, {"version": 2}, format="json")
    assert again.status_code == 409
    history = _client(marketer).get(f"{url}history/").json()["results"]
    assert [event["kind"] for event in history] == ["closed", "recorded"]
    listed = _client(marketer).get("/api/v1/review-decisions/").json()["results"]
    assert [d["status"] for d in listed] == ["closed"]

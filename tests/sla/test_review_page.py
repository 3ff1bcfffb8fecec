"""The review page: its queries do not grow with the data, and only managers record
decisions (managers or the owner close them), each with its history."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.errors import DomainError
from leads.models import Reason, ReasonKind
from leads.services.transitions import lead_hand_off, lead_reject
from sla.models import ReviewDecision, ReviewDecisionEvent
from sla.review.decisions import decision_close, decision_record
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import CampaignFactory, PersonaFactory, SlaPolicyFactory
from tests.sla.review_world import AFTER, MONDAY, WEEK

pytestmark = pytest.mark.django_db


def _queries(client) -> tuple[int, str]:
    with time_machine.travel(AFTER, tick=False), CaptureQueriesContext(connection) as seen:
        response = client.get("/review/", {"period": WEEK})
    assert response.status_code == 200
    return len(seen), response.content.decode()


def _more(n: int, *, offset: int, manager, marketer, sales_rep, make_lead) -> None:
    """`n` more leads handed off and rejected (each its own campaign and persona), each
    with a decision."""
    reason = Reason.objects.filter(kind=ReasonKind.REJECT).first()
    for i in range(offset, offset + n):
        lead = make_lead(
            email=f"n{i}@example.com",
            campaign=CampaignFactory(),
            persona=PersonaFactory(),
            now=MONDAY,
        )
        lead = lead_hand_off(
            lead=lead, actor=marketer, assignee=sales_rep, criteria=ALL_REQUIRED_CRITERIA,
            now=MONDAY + timedelta(hours=1),
        )  # fmt: skip
        lead_reject(lead=lead, actor=sales_rep, reason=reason, now=MONDAY + timedelta(hours=9))
        decision_record(
            actor=manager, text=f"Action {i}", owner=marketer, due_on=date(2026, 12, 4),
            period=WEEK, now=MONDAY,
        )  # fmt: skip


def test_its_queries_do_not_grow_with_the_data(client, manager, marketer, sales_rep, make_lead):
    SlaPolicyFactory(actor=manager, name="Accept within 4 hours", now=MONDAY)
    client.force_login(manager)
    people = {"manager": manager, "marketer": marketer, "sales_rep": sales_rep}
    _more(2, offset=0, make_lead=make_lead, **people)
    few, _ = _queries(client)
    _more(10, offset=2, make_lead=make_lead, **people)
    many, html = _queries(client)
    assert html.count('data-status="open"') == 12
    assert many == few
    assert many <= 32


def test_only_managers_record_decisions(client, manager, marketer, sales_rep):
    for person in (marketer, sales_rep):
        with pytest.raises(DomainError) as refused:
            decision_record(actor=person, text="x", owner=person, due_on=date(2026, 12, 4))
        assert refused.value.code == "forbidden"
        client.force_login(person)
        page = client.get("/review/")
        assert 'id="decision-form"' not in page.content.decode()
        posted = client.post("/review/", {"text": "x", "owner": person.pk, "due_on": "2026-12-04"})
        assert posted.status_code == 403
    assert not ReviewDecision.objects.exists()


def test_a_refused_decision_keeps_what_was_typed(client, manager):
    client.force_login(manager)
    response = client.post(
        "/review/", {"period": WEEK, "text": "Call every webinar lead", "owner": "", "due_on": ""}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Call every webinar lead" in html
    assert not ReviewDecision.objects.exists()


def test_the_owner_or_a_manager_closes_with_history(client, manager, marketer, sales_rep):
    decision = decision_record(
        actor=manager, text="Sales rings within an hour", owner=sales_rep,
        due_on=date(2026, 12, 4), period=WEEK, now=MONDAY,
    )  # fmt: skip
    with pytest.raises(DomainError) as refused:
        decision_close(actor=marketer, decision=decision, outcome="Not mine")
    assert refused.value.code == "forbidden"
    client.force_login(sales_rep)
    response = client.post(
        f"/review/decisions/{decision.pk}/close/",
        {"version": decision.version, "outcome": "Rota set", "period": WEEK},
    )
    assert response.status_code == 302
    decision.refresh_from_db()
    assert (decision.status, decision.outcome, decision.closed_by) == (
        "closed",
        "Rota set",
        sales_rep,
    )
    kinds = list(ReviewDecisionEvent.objects.filter(decision=decision).values_list("kind", "actor"))
    assert kinds == [("closed", sales_rep.pk), ("recorded", manager.pk)]
    with pytest.raises(DomainError) as again:
        decision_close(actor=manager, decision=decision, expected_version=1)
    assert again.value.code == "stale"


def test_a_bad_period_says_what_a_period_is(client, marketer):
    client.force_login(marketer)
    response = client.get("/review/", {"period": "2026-W60"})
    assert response.status_code == 200
    assert "has no week 60" in response.content.decode()

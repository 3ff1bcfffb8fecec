"""Reassigning a sales-owned lead: rights, the reason, the version, history and notices."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from crm.errors import DomainError, ErrorCode
from crm.models import OutboxMessage, Role
from leads.models import Lead, LeadEvent
from leads.services.reassignment import lead_reassign
from leads.services.transitions import lead_transition
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def refused(**kwargs) -> DomainError:
    lead = kwargs["lead"]
    before = Lead.objects.get(pk=lead.pk)
    events = LeadEvent.objects.filter(lead=lead).count()
    with pytest.raises(DomainError) as err:
        lead_reassign(**kwargs)
    after = Lead.objects.get(pk=lead.pk)
    assert (after.owner_id, after.version) == (before.owner_id, before.version)
    assert LeadEvent.objects.filter(lead=lead).count() == events
    assert not OutboxMessage.objects.filter(event_type="lead.reassigned").exists()
    return err.value


def test_it_lets_the_assigned_rep_hand_the_lead_to_another_rep(
    qualified_lead, sales_rep, other_sales_rep
):
    lead = lead_reassign(
        lead=qualified_lead,
        actor=sales_rep,
        assignee=other_sales_rep,
        reason="Olga covers logistics",
        expected_version=qualified_lead.version,
    )
    assert lead.owner == other_sales_rep
    assert lead.stage == "qualified"
    event = LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.ASSIGNED).get()
    assert event.actor == sales_rep
    assert event.note == "Olga covers logistics"
    assert event.changes["owner"] == [str(sales_rep), str(other_sales_rep)]


def test_it_lets_a_manager_reassign_any_sales_lead(opportunity_lead, manager, other_sales_rep):
    lead = lead_reassign(
        lead=opportunity_lead, actor=manager, assignee=other_sales_rep.pk, reason="Rebalance"
    )
    assert Lead.objects.get(pk=lead.pk).owner == other_sales_rep


def test_it_notifies_both_reps(qualified_lead, manager, sales_rep, other_sales_rep):
    lead_reassign(lead=qualified_lead, actor=manager, assignee=other_sales_rep, reason="Leave")
    notices = OutboxMessage.objects.filter(event_type="lead.reassigned")
    assert {m.recipient_id: m.payload["title"] for m in notices} == {
        sales_rep.pk: f"{qualified_lead} was reassigned to {other_sales_rep.display_name}",
        other_sales_rep.pk: f"{qualified_lead} was reassigned to you",
    }
    assert all("Leave" in m.payload["body"] for m in notices)


def test_the_rep_who_gives_the_lead_away_is_not_told_of_it(
    qualified_lead, sales_rep, other_sales_rep
):
    lead_reassign(lead=qualified_lead, actor=sales_rep, assignee=other_sales_rep, reason="Leave")
    recipients = OutboxMessage.objects.filter(event_type="lead.reassigned")
    assert list(recipients.values_list("recipient_id", flat=True)) == [other_sales_rep.pk]


def test_it_refuses_a_marketer(qualified_lead, marketer, other_sales_rep):
    error = refused(lead=qualified_lead, actor=marketer, assignee=other_sales_rep, reason="x")
    assert error.code == ErrorCode.FORBIDDEN
    assert "owned by Sales" in error.message


def test_it_refuses_a_rep_reassigning_someone_elses_lead(
    qualified_lead, other_sales_rep, sales_rep
):
    third = UserFactory(username="tia.sales", role=Role.SALES_REP)
    error = refused(lead=qualified_lead, actor=other_sales_rep, assignee=third, reason="Mine now")
    assert error.code == ErrorCode.FORBIDDEN
    assert "assigned sales rep" in error.message


def test_it_refuses_a_rep_without_a_reason(qualified_lead, sales_rep, other_sales_rep):
    for reason in (None, "", "   "):
        error = refused(
            lead=qualified_lead, actor=sales_rep, assignee=other_sales_rep, reason=reason
        )
        assert (error.field, error.message) == ("reason", "Say why the lead is reassigned.")


def test_it_refuses_a_reason_that_is_not_text(qualified_lead, sales_rep, other_sales_rep):
    error = refused(lead=qualified_lead, actor=sales_rep, assignee=other_sales_rep, reason=3)
    assert (error.field, error.message) == ("reason", "reason must be text.")


def test_it_refuses_a_new_owner_who_is_not_a_sales_rep(
    qualified_lead, sales_rep, marketer, manager
):
    for person in (marketer, manager):
        error = refused(lead=qualified_lead, actor=sales_rep, assignee=person, reason="Help")
        assert error.field == "assignee"
        assert "is not an active sales rep" in error.message


def test_it_refuses_an_inactive_sales_rep(qualified_lead, sales_rep):
    gone = UserFactory(username="gus.gone", role=Role.SALES_REP, is_active=False)
    error = refused(lead=qualified_lead, actor=sales_rep, assignee=gone, reason="Help")
    assert error.field == "assignee"


def test_it_refuses_the_same_rep(qualified_lead, manager, sales_rep):
    error = refused(lead=qualified_lead, actor=manager, assignee=sales_rep, reason="Again")
    assert error.field == "assignee"
    assert "already assigned" in error.message


def test_it_refuses_no_assignee_rather_than_rotating(qualified_lead, manager):
    error = refused(lead=qualified_lead, actor=manager, assignee=None, reason="Anyone")
    assert error.field == "assignee"


def test_it_refuses_a_stale_version(qualified_lead, sales_rep, other_sales_rep):
    error = refused(
        lead=qualified_lead,
        actor=sales_rep,
        assignee=other_sales_rep,
        reason="Leave",
        expected_version=qualified_lead.version - 1,
    )
    assert error.code == ErrorCode.STALE


@pytest.mark.parametrize("stage_lead", ["engaged_lead", "won_lead"])
def test_it_refuses_leads_sales_is_not_working(
    request, stage_lead, manager, sales_rep, other_sales_rep
):
    if stage_lead == "won_lead":
        lead = request.getfixturevalue("opportunity_lead")
        lead = lead_transition(lead=lead, actor=sales_rep, transition="win")
    else:
        lead = request.getfixturevalue(stage_lead)
    error = refused(lead=lead, actor=manager, assignee=other_sales_rep, reason="Rebalance")
    assert error.code == ErrorCode.ILLEGAL_TRANSITION
    assert error.field == "transition"


def test_the_new_rep_can_accept_and_the_old_one_no_longer_can(
    qualified_lead, manager, sales_rep, other_sales_rep
):
    lead_reassign(lead=qualified_lead, actor=manager, assignee=other_sales_rep, reason="Leave")
    with pytest.raises(DomainError) as err:
        lead_transition(lead=qualified_lead.pk, actor=sales_rep, transition="accept")
    assert err.value.code == ErrorCode.FORBIDDEN
    lead = lead_transition(lead=qualified_lead.pk, actor=other_sales_rep, transition="accept")
    assert lead.accepted_by == other_sales_rep


# ---------------------------------------------------------------- API and page


def test_the_api_reassigns_through_the_transitions_endpoint(
    qualified_lead, manager, other_sales_rep
):
    api = APIClient()
    api.force_login(manager)
    url = f"/api/v1/leads/{qualified_lead.pk}/transitions/"
    body = {"transition": "reassign", "assignee": other_sales_rep.pk, "reason": "Leave"}
    answer = api.post(url, body, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["owner"]["id"] == other_sales_rep.pk


def test_the_api_names_the_field_of_a_refused_reassignment(qualified_lead, manager, sales_rep):
    api = APIClient()
    api.force_login(manager)
    url = f"/api/v1/leads/{qualified_lead.pk}/transitions/"
    answer = api.post(url, {"transition": "reassign", "assignee": sales_rep.pk}, format="json")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["pointer"] == "/assignee"


def test_the_api_refuses_a_marketer(qualified_lead, marketer, other_sales_rep):
    api = APIClient()
    api.force_login(marketer)
    url = f"/api/v1/leads/{qualified_lead.pk}/transitions/"
    body = {"transition": "reassign", "assignee": other_sales_rep.pk, "reason": "x"}
    assert api.post(url, body, format="json").status_code == 403
    assert Lead.objects.get(pk=qualified_lead.pk).owner_id == qualified_lead.owner_id


def test_the_schema_documents_reassign():
    api = APIClient()
    schema = api.get("/api/schema/?format=json").json()
    post = schema["paths"]["/api/v1/leads/{id}/transitions/"]["post"]
    assert "reassign" in post["summary"]
    components = schema["components"]["schemas"]
    body = components["TransitionRequest"]["properties"]
    choices = body["transition"].get("enum") or components[
        body["transition"]["$ref"].rsplit("/", 1)[1]
    ].get("enum")
    assert "reassign" in choices
    assert {"integer", "string"} == {o["type"] for o in body["reason"]["oneOf"]}


def test_the_lead_page_reassigns_and_keeps_the_reason_on_the_timeline(
    client, qualified_lead, manager, other_sales_rep
):
    client.force_login(manager)
    page = client.get(reverse("leads:detail", args=[qualified_lead.pk])).content.decode()
    assert reverse("leads:action", args=[qualified_lead.pk, "reassign"]) in page
    answer = client.post(
        reverse("leads:action", args=[qualified_lead.pk, "reassign"]),
        {"version": qualified_lead.version, "assignee": other_sales_rep.pk, "reason": "Leave"},
        follow=True,
    )
    assert "Lead reassigned." in answer.content.decode()
    assert Lead.objects.get(pk=qualified_lead.pk).owner == other_sales_rep
    assert "Leave" in answer.content.decode()


def test_the_lead_page_says_why_a_reassignment_without_reason_failed(
    client, qualified_lead, manager, other_sales_rep
):
    client.force_login(manager)
    answer = client.post(
        reverse("leads:action", args=[qualified_lead.pk, "reassign"]),
        {"version": qualified_lead.version, "assignee": other_sales_rep.pk, "reason": ""},
        follow=True,
    )
    assert "Why: This field is required." in answer.content.decode()
    assert Lead.objects.get(pk=qualified_lead.pk).owner_id == qualified_lead.owner_id

"""Lead pages: rights, actions through the services, messages, and constant query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leads.lifecycle import Stage
from leads.models import Activity, Lead, Reason
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import CampaignFactory, LeadFactory, PersonaFactory

pytestmark = pytest.mark.django_db


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _history(lead: Lead, marketer, sales_rep) -> None:
    from leads.services.activities import activity_log
    from leads.services.transitions import lead_accept, lead_hand_off

    lead_hand_off(lead=lead, actor=marketer, assignee=sales_rep, criteria=ALL_REQUIRED_CRITERIA)
    lead_accept(lead=lead, actor=sales_rep)
    activity_log(lead=lead, actor=sales_rep, kind="call", summary="Intro call")


def test_it_sends_anonymous_visitors_to_sign_in(client):
    for name in ("leads:list", "leads:new", "leads:import_upload", "leads:campaigns"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_it_refuses_a_sales_rep_the_new_lead_and_import_pages(client, sales_rep):
    client.force_login(sales_rep)
    assert client.get(reverse("leads:new")).status_code == 403
    assert client.get(reverse("leads:import_upload")).status_code == 403


def test_it_creates_a_lead_from_the_form(client, marketer):
    campaign = CampaignFactory()
    persona = PersonaFactory()
    client.force_login(marketer)
    response = client.post(
        reverse("leads:new"),
        {
            "email": "ada@example.com",
            "first_name": "Ada",
            "campaign": campaign.pk,
            "persona": persona.pk,
        },
    )
    lead = Lead.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "leads:detail", args=[lead.pk]
    )
    assert (lead.campaign, lead.persona, lead.owner) == (campaign, persona, marketer)


def test_it_shows_the_duplicate_on_the_form(client, marketer, engaged_lead):
    client.force_login(marketer)
    response = client.post(reverse("leads:new"), {"email": engaged_lead.email.upper()})
    assert response.status_code == 200
    assert b"already exists" in response.content
    assert f'href="/leads/{engaged_lead.pk}/"'.encode() in response.content
    assert Lead.objects.count() == 1


def test_it_hands_off_accepts_and_logs_a_call_through_the_pages(
    client, marketer, sales_rep, engaged_lead
):
    client.force_login(marketer)
    url = reverse("leads:action", args=[engaged_lead.pk, "hand_off"])
    response = client.post(
        url,
        {"version": 1, "assignee": sales_rep.pk, "criteria": ALL_REQUIRED_CRITERIA},
        HTTP_HX_REQUEST="true",
    )
    assert b"Lead handed off to sales." in response.content
    engaged_lead.refresh_from_db()
    assert (engaged_lead.stage, engaged_lead.owner) == (Stage.QUALIFIED, sales_rep)

    client.force_login(sales_rep)
    client.post(
        reverse("leads:action", args=[engaged_lead.pk, "accept"]),
        {"version": engaged_lead.version},
    )
    response = client.post(
        reverse("leads:action", args=[engaged_lead.pk, "activity"]),
        {"kind": "call", "summary": "Discussed budget"},
        follow=True,
    )
    assert b"Call logged." in response.content and b"Discussed budget" in response.content
    engaged_lead.refresh_from_db()
    assert engaged_lead.accepted_by == sales_rep and engaged_lead.first_touch_at is not None


def test_it_refuses_a_stale_edit_with_a_message(client, marketer, engaged_lead):
    from leads.services.leads import lead_update

    lead_update(lead=engaged_lead, actor=marketer, fields={"company": "New"}, expected_version=1)
    client.force_login(marketer)
    response = client.post(
        reverse("leads:action", args=[engaged_lead.pk, "edit"]),
        {"version": 1, "email": engaged_lead.email, "company": "Mine"},
        follow=True,
    )
    assert b"Not saved:" in response.content and b"changed by someone else" in response.content
    engaged_lead.refresh_from_db()
    assert engaged_lead.company == "New"


def test_it_refuses_another_reps_accept_with_a_message(client, other_sales_rep, qualified_lead):
    client.force_login(other_sales_rep)
    response = client.post(
        reverse("leads:action", args=[qualified_lead.pk, "accept"]),
        {"version": qualified_lead.version},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert b"Not allowed: Only the assigned sales rep or a manager" in response.content
    qualified_lead.refresh_from_db()
    assert qualified_lead.accepted_at is None


def test_it_requires_a_reason_to_reject(client, sales_rep, qualified_lead):
    client.force_login(sales_rep)
    response = client.post(
        reverse("leads:action", args=[qualified_lead.pk, "reject"]),
        {"version": qualified_lead.version, "reason": ""},
        follow=True,
    )
    assert b"Please correct" in response.content
    reason = Reason.objects.filter(kind="reject").first()
    client.post(
        reverse("leads:action", args=[qualified_lead.pk, "reject"]),
        {"version": qualified_lead.version, "reason": reason.pk, "note": "No budget"},
    )
    qualified_lead.refresh_from_db()
    assert qualified_lead.stage == Stage.NURTURE and qualified_lead.reason == reason


@pytest.mark.parametrize(
    "payload",
    [
        {"version": "abc"},
        {"version": "99999999999999999999"},
        {"version": "1", "reason": "99999999999999999999999"},
        {"version": "1", "assignee": "1" * 40},
        {},
    ],
)
def test_it_never_fails_on_malformed_action_input(client, manager, engaged_lead, payload):
    client.force_login(manager)
    for action in ("hand_off", "disqualify", "accept", "edit", "to_opportunity", "activity"):
        response = client.post(
            reverse("leads:action", args=[engaged_lead.pk, action]), payload, follow=True
        )
        assert response.status_code == 200
    assert client.post(reverse("leads:action", args=[engaged_lead.pk, "nope"])).status_code == 404


def test_it_shows_script_names_as_text(client, manager):
    lead = LeadFactory(first_name="<script>alert(1)</script>")
    client.force_login(manager)
    for url in (reverse("leads:detail", args=[lead.pk]), reverse("leads:list")):
        content = client.get(url).content
        assert b"<script>alert(1)</script>" not in content
        assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in content


def test_it_filters_and_uses_saved_views(client, sales_rep, other_sales_rep, qualified_lead):
    LeadFactory(email="other@example.com", company="Zeta Corp")
    client.force_login(sales_rep)
    waiting = client.get(reverse("leads:list"), {"view": "waiting"}).content
    assert qualified_lead.email.encode() in waiting and b"other@example.com" not in waiting
    client.force_login(other_sales_rep)
    assert (
        qualified_lead.email.encode()
        not in client.get(reverse("leads:list"), {"view": "waiting"}).content
    )
    found = client.get(reverse("leads:list"), {"q": "zeta"}).content
    assert b"other@example.com" in found and qualified_lead.email.encode() not in found
    bad = client.get(reverse("leads:list"), {"stage": "nonsense", "after": "%%%"})
    assert bad.status_code == 200 and b"not valid" in bad.content
    for params in (
        {"owner": "9" * 30},
        {"campaign": "-1"},
        {"created_after": "2026-02-31"},
        {"q": "\x00" + "a" * 500},
        {"before": "MjAyNi0wMS0wMXwx"},  # a well-formed cursor without a time zone
    ):
        assert client.get(reverse("leads:list"), params).status_code == 200


def test_it_pages_through_leads_without_gaps_or_repeats(client, manager):
    LeadFactory.create_batch(60)
    client.force_login(manager)
    seen: list[int] = []
    url = reverse("leads:list")
    params: dict[str, str] = {}
    while True:
        page = client.get(url, params).context["page"]
        seen.extend(lead.pk for lead in page.leads)
        if not page.next_cursor:
            break
        params = {"after": page.next_cursor}
    assert sorted(seen) == sorted(Lead.objects.values_list("pk", flat=True))
    assert len(seen) == len(set(seen)) == 60
    back = client.get(url, {"before": page.previous_cursor}).context["page"]
    assert len(back.leads) == 25 and back.next_cursor


def test_list_runs_a_constant_number_of_queries(client, manager):
    client.force_login(manager)
    LeadFactory.create_batch(5, campaign=CampaignFactory(), persona=PersonaFactory())
    few = _queries(client, reverse("leads:list"))
    LeadFactory.create_batch(45, campaign=CampaignFactory(), persona=PersonaFactory())
    assert _queries(client, reverse("leads:list")) == few


def test_detail_runs_a_constant_number_of_queries(client, manager, marketer, sales_rep, make_lead):
    client.force_login(manager)
    lead = make_lead()
    _history(lead, marketer, sales_rep)
    url = reverse("leads:detail", args=[lead.pk])
    few = _queries(client, url)
    from leads.services.activities import activity_log

    for n in range(30):
        activity_log(lead=lead, actor=sales_rep, kind="email", summary=f"Follow-up {n}")
    assert Activity.objects.filter(lead=lead).count() == 31
    assert _queries(client, url) == few


@pytest.mark.parametrize("fixture", ["engaged_lead", "qualified_lead", "opportunity_lead"])
def test_detail_form_fields_have_unique_ids_for_their_labels(client, manager, request, fixture):
    import re
    from collections import Counter

    lead = request.getfixturevalue(fixture)
    client.force_login(manager)
    html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    ids = Counter(re.findall(r'\sid="([^"]+)"', html))
    assert [name for name, n in ids.items() if n > 1] == []
    for target in re.findall(r'<label for="([^"]+)"', html):
        assert ids[target] == 1, target

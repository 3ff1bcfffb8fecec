"""Follow-ups: the next step's due day, set with an activity, shown in My work and notified."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from crm.errors import DomainError
from crm.models import Notification
from crm.outbox import outbox_drain
from leads.models import Activity, Lead, LeadEvent
from leads.services.activities import activity_log
from leads.services.followups import followups_notify
from leads.services.leads import lead_update

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # Wednesday 4 March, 15:00 in London too
TODAY = date(2026, 3, 4)


@pytest.fixture(autouse=True)
def _no_broker_hints(settings) -> None:
    settings.OUTBOX_ENQUEUE_HINTS = False


def test_logging_an_activity_sets_the_next_step_and_its_day(accepted_lead, sales_rep):
    activity_log(
        lead=accepted_lead,
        actor=sales_rep,
        kind="call",
        summary="Spoke to the CFO",
        next_step="Send the proposal",
        next_step_due="2026-03-06",
        now=NOW,
    )
    lead = Lead.objects.get(pk=accepted_lead.pk)
    assert (lead.next_step, lead.next_step_due) == ("Send the proposal", date(2026, 3, 6))
    event = LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.ACTIVITY).latest("id")
    assert event.changes["next_step_due"] == [None, "2026-03-06"]


def test_an_activity_without_a_next_step_leaves_the_lead_as_it_was(opportunity_lead, sales_rep):
    version = Lead.objects.get(pk=opportunity_lead.pk).version
    activity_log(lead=opportunity_lead, actor=sales_rep, kind="note", summary="x", now=NOW)
    lead = Lead.objects.get(pk=opportunity_lead.pk)
    assert (lead.next_step, lead.version) == ("Demo on Tuesday", version)


def test_a_day_that_is_not_a_day_is_refused_and_nothing_is_logged(accepted_lead, sales_rep):
    with pytest.raises(DomainError) as err:
        activity_log(
            lead=accepted_lead, actor=sales_rep, kind="call", next_step_due="next friday", now=NOW
        )
    assert err.value.field == "next_step_due"
    assert "YYYY-MM-DD" in err.value.message
    assert not Activity.objects.filter(lead=accepted_lead).exists()


def test_the_edit_sets_the_day(accepted_lead, sales_rep):
    lead = lead_update(
        lead=accepted_lead,
        actor=sales_rep,
        fields={"next_step_due": "2026-03-09"},
        expected_version=Lead.objects.get(pk=accepted_lead.pk).version,
    )
    assert lead.next_step_due == date(2026, 3, 9)


def test_the_api_sets_the_day_with_an_activity_and_refuses_a_bad_one(accepted_lead, sales_rep):
    api = APIClient()
    api.force_login(sales_rep)
    url = f"/api/v1/leads/{accepted_lead.pk}/activities/"
    body = {"kind": "email", "next_step": "Call back", "next_step_due": "2026-03-05"}
    assert api.post(url, body, format="json").status_code == 201
    lead = api.get(f"/api/v1/leads/{accepted_lead.pk}/").json()
    assert (lead["next_step"], lead["next_step_due"]) == ("Call back", "2026-03-05")
    bad = api.post(url, {"kind": "email", "next_step_due": "soon"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["pointer"] == "/next_step_due"


@pytest.fixture
def other_lead(make_lead, marketer, sales_rep):
    """A second lead of the rep, accepted (opportunity_lead is built on accepted_lead)."""
    from leads.services.transitions import lead_accept, lead_hand_off
    from tests.conftest import ALL_REQUIRED_CRITERIA

    lead = lead_hand_off(
        lead=make_lead(), actor=marketer, assignee=sales_rep, criteria=ALL_REQUIRED_CRITERIA
    )
    return lead_accept(lead=lead, actor=sales_rep)


def _due(lead, day: date) -> None:
    Lead.objects.filter(pk=lead.pk).update(next_step_due=day)


def test_my_work_lists_follow_ups_due_today_or_before_not_later(
    client, sales_rep, opportunity_lead, other_lead
):
    _due(opportunity_lead, TODAY)
    _due(other_lead, TODAY - timedelta(days=2))
    client.force_login(sales_rep)
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("my_work")).content.decode()
    table = page.split('id="my-followups"', 1)[1].split("</table>", 1)[0]
    rows = [int(pk) for pk in re.findall(r'data-lead="(\d+)"', table)]
    assert rows == [other_lead.pk, opportunity_lead.pk]
    assert '<span class="badge bad">overdue</span>' in table
    assert '<span class="badge warn">today</span>' in table
    _due(opportunity_lead, TODAY + timedelta(days=1))
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("my_work")).content.decode()
    table = page.split('id="my-followups"', 1)[1].split("</table>", 1)[0]
    assert str(opportunity_lead.pk) not in re.findall(r'data-lead="(\d+)"', table)


def test_a_follow_up_coming_due_tells_its_owner_once(opportunity_lead, other_lead, sales_rep):
    _due(opportunity_lead, TODAY)
    _due(other_lead, TODAY + timedelta(days=1))
    followups_notify(now=NOW)
    followups_notify(now=NOW + timedelta(minutes=15))
    outbox_drain(now=NOW + timedelta(minutes=16))
    notices = Notification.objects.filter(user=sales_rep, kind="lead.follow_up_due")
    assert [n.title for n in notices] == [f"Follow-up due: {opportunity_lead}"]
    assert notices[0].body == "Demo on Tuesday"
    # Moved to tomorrow, it is told again tomorrow.
    _due(opportunity_lead, TODAY + timedelta(days=1))
    followups_notify(now=NOW + timedelta(days=1))
    outbox_drain(now=NOW + timedelta(days=1, minutes=1))
    assert Notification.objects.filter(user=sales_rep, kind="lead.follow_up_due").count() == 3


def test_the_lead_page_offers_the_next_step_with_an_activity(client, accepted_lead, sales_rep):
    client.force_login(sales_rep)
    url = reverse("leads:action", args=[accepted_lead.pk, "activity"])
    client.post(
        url,
        {"kind": "call", "summary": "", "next_step": "Demo", "next_step_due": "2026-03-10"},
    )
    lead = Lead.objects.get(pk=accepted_lead.pk)
    assert (lead.next_step, lead.next_step_due) == ("Demo", date(2026, 3, 10))
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "(due <time" in page and "Tue 10 Mar 2026" in page

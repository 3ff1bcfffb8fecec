"""My work: each person's home page, ordered by the SLA, in a constant number of queries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leads.lifecycle import OPEN_STAGES
from leads.models import Lead, Reason
from leads.services.transitions import lead_accept, lead_hand_off, lead_reject
from sla.models import Breach, ClockState, SlaClock
from sla.selectors import attention_clocks
from sla.sweep import sla_sweep
from sla.templatetags.sla_tags import due_words
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import SlaPolicyFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


@pytest.fixture
def accept_policy(manager):
    """Accept within 4 hours, around the clock: business time is wall time here."""
    return SlaPolicyFactory(
        actor=manager, name="Accept within 4 hours", now=NOW - timedelta(days=1)
    )


@pytest.fixture
def handed(make_lead, marketer, sales_rep, accept_policy):
    """A lead handed to a rep `hours_ago` before NOW."""

    def make(hours_ago: float, rep=None, **fields):
        at = NOW - timedelta(hours=hours_ago)
        lead = make_lead(now=at - timedelta(minutes=5), **fields)
        return lead_hand_off(
            lead=lead,
            actor=marketer,
            assignee=rep or sales_rep,
            criteria=ALL_REQUIRED_CRITERIA,
            now=at,
        )

    return make


def _page(client, user) -> str:
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("my_work"))
    assert response.status_code == 200
    return response.content.decode()


def _queries(client, user) -> int:
    client.force_login(user)
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("my_work")).status_code == 200
    return len(ctx)


def _rows(page: str, table: str) -> list[int]:
    body = page.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return [int(pk) for pk in re.findall(r'<tr[^>]*data-lead="(\d+)"', body)]


def test_it_is_the_home_page_and_the_dashboard_is_one_click_away(client, sales_rep):
    page = _page(client, sales_rep)
    assert "<h1>My work</h1>" in page
    assert f'href="{reverse("dashboard")}"' in page


def test_a_rep_sees_the_most_overdue_lead_first(client, handed, sales_rep, other_sales_rep):
    calm = handed(1, first_name="Calm")  # due in 3 h
    late = handed(6, first_name="Late")  # overdue by 2 h
    close = handed(3.5, first_name="Close")  # at risk, due in 30 min
    someone_elses = handed(7, rep=other_sales_rep)
    page = _page(client, sales_rep)
    assert _rows(page, "my-queue") == [late.pk, close.pk, calm.pk]
    assert someone_elses.pk not in _rows(page, "my-queue")
    assert "overdue by 2 h" in page
    assert "due in 30 min" in page
    assert "due in 3 h" in page


def test_the_due_moment_is_on_hover_in_the_readers_zone(client, handed, sales_rep):
    handed(1)
    page = _page(client, sales_rep)
    # Due 18:00 UTC; the site's zone (Europe/London) is GMT in March.
    assert 'title="Due Wed 4 Mar 2026, 18:00 GMT' in page


def test_an_accepted_lead_leaves_the_reps_queue_until_a_clock_is_at_risk(client, handed, sales_rep):
    lead = handed(1)
    lead_accept(lead=lead, actor=sales_rep, now=NOW - timedelta(minutes=30))
    assert _rows(_page(client, sales_rep), "my-queue") == []


def test_a_marketer_sees_what_sales_sent_back_and_why(
    client, handed, marketer, sales_rep, accept_policy
):
    lead = handed(2, first_name="Bounced")
    reason = Reason.objects.create(kind=Reason.Kind.REJECT, label="No budget this year")
    lead_reject(lead=lead, actor=sales_rep, reason=reason, note="Ask again in Q3", now=NOW)
    waiting = handed(1, first_name="Waiting")
    page = _page(client, marketer)
    returned = page.split('id="my-returned"', 1)[1].split("</table>", 1)[0]
    assert "Bounced" in returned and "No budget this year" in returned
    assert "Ask again in Q3" in returned
    assert _rows(page, "my-waiting") == [waiting.pk]
    assert "h-commitments" in page and "h-imports" in page


def test_a_manager_sees_unacknowledged_breaches_and_each_reps_load(
    client, handed, manager, sales_rep, other_sales_rep
):
    late = handed(6)
    handed(3.5)  # at risk
    handed(1, rep=other_sales_rep)
    sla_sweep(now=NOW)
    assert Breach.objects.filter(lead=late).exists()
    page = _page(client, manager)
    breaches = page.split('id="my-breaches"', 1)[1].split("</table>", 1)[0]
    assert reverse("leads:action", args=[late.pk, "reassign"]) in breaches
    load = page.split('id="rep-load"', 1)[1].split("</table>", 1)[0]
    cells = re.findall(
        r'data-rep="(\d+)">.*?</td><td class="num">(\d+)</td>'
        r'<td class="num[^"]*">(\d+)</td><td class="num[^"]*">(\d+)</td>',
        load,
    )
    assert cells == [
        (str(sales_rep.pk), "2", "1", "1"),
        (str(other_sales_rep.pk), "1", "0", "0"),
    ]


def test_the_managers_list_takes_the_earliest_due_from_both_kinds_of_late_clock(handed, sales_rep):
    """The list merges breached clocks still waiting and open ones past their at-risk mark,
    each read in due order and cut at the limit: the same clocks, in the same order, as one
    query over both kinds."""
    oldest, older = handed(7), handed(6)
    sla_sweep(now=NOW)  # breached, still waiting for acceptance
    late, at_risk = handed(5), handed(3.5)  # past due and at risk, not flagged yet
    handed(1)  # running: not late

    shown = attention_clocks(now=NOW, limit=3)

    assert [c.lead_id for c in shown] == [oldest.pk, older.pk, late.pk]
    assert {c.state for c in shown} == {ClockState.BREACHED, ClockState.RUNNING}
    one_query = SlaClock.objects.needs_attention(NOW).filter(lead__stage__in=OPEN_STAGES)
    assert shown == list(one_query.awaiting_goal().order_by("due_at", "id")[:3])
    assert [c.lead_id for c in attention_clocks(now=NOW, limit=10)] == [
        oldest.pk,
        older.pk,
        late.pk,
        at_risk.pk,
    ]


def test_a_manager_reassigns_from_a_breach_row_and_comes_back(
    client, handed, manager, other_sales_rep
):
    late = handed(6)
    sla_sweep(now=NOW)
    client.force_login(manager)
    answer = client.post(
        reverse("leads:action", args=[late.pk, "reassign"]),
        {
            "version": late.version,
            "assignee": other_sales_rep.pk,
            "reason": "Sam is off sick",
            "next": reverse("my_work"),
        },
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == reverse("my_work")
    assert Lead.objects.get(pk=late.pk).owner == other_sales_rep


def test_a_quick_action_never_sends_the_person_off_site(client, handed, manager, other_sales_rep):
    late = handed(6)
    client.force_login(manager)
    answer = client.post(
        reverse("leads:action", args=[late.pk, "reassign"]),
        {
            "version": late.version,
            "assignee": other_sales_rep.pk,
            "reason": "x",
            "next": "https://evil.example/",
        },
    )
    assert answer.headers["Location"] == reverse("leads:detail", args=[late.pk])


@pytest.mark.parametrize("person", ["sales_rep", "marketer", "manager"])
def test_my_work_runs_the_same_queries_for_two_leads_or_eight(
    request, client, handed, person, other_sales_rep
):
    user = request.getfixturevalue(person)
    for hours in (6, 1):
        handed(hours)
    sla_sweep(now=NOW)
    few = _queries(client, user)
    for hours in (7, 5, 3.5, 3, 2, 0.5):
        handed(hours, rep=other_sales_rep if hours == 3 else None)
    sla_sweep(now=NOW)
    assert _queries(client, user) == few


def test_due_words_say_how_long_is_left_or_how_late():
    assert due_words(timedelta(hours=2, minutes=5)) == "due in 2 h 05 min"
    assert due_words(-timedelta(days=1, hours=3)) == "overdue by 1 d 3 h"


def test_a_breach_with_no_owner_on_record_still_shows(client, handed, manager):
    """Breaches written before owners were recorded (or by a bulk load) have none."""
    late = handed(6)
    sla_sweep(now=NOW)
    Breach.objects.filter(lead=late).update(owner=None)
    page = _page(client, manager)
    breaches = page.split('id="my-breaches"', 1)[1].split("</table>", 1)[0]
    assert late.owner.display_name in breaches

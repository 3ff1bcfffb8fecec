"""The SLA where the work happens: the Due column, "most urgent first" on the list and the
API, and the countdown on the lead page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from leads.filters import LIST_SORTS
from leads.models import Lead
from leads.pagination import lead_page
from leads.services.transitions import lead_accept, lead_hand_off
from sla.selectors import with_due_order
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import SlaPolicyFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


@pytest.fixture
def leads(make_lead, marketer, sales_rep, manager):
    """Soon (due in 1 h), Late (overdue 2 h), Calm (due in 3 h), Met (accepted: no open goal),
    Fresh (engaged: no clock), by name."""
    SlaPolicyFactory(actor=manager, name="Accept within 4 hours", now=NOW - timedelta(days=1))
    made = {}
    for name, hours in (("Soon", 3), ("Late", 6), ("Calm", 1), ("Met", 2)):
        at = NOW - timedelta(hours=hours)
        lead = make_lead(first_name=name, now=at - timedelta(minutes=1))
        made[name] = lead_hand_off(
            lead=lead, actor=marketer, assignee=sales_rep, criteria=ALL_REQUIRED_CRITERIA, now=at
        )
    lead_accept(lead=made["Met"], actor=sales_rep, now=NOW - timedelta(hours=1))
    made["Fresh"] = make_lead(first_name="Fresh", now=NOW - timedelta(minutes=5))
    return made


def _names(leads_by_name: dict[str, Lead], ids: list[int]) -> list[str]:
    names = {lead.pk: name for name, lead in leads_by_name.items()}
    return [names[pk] for pk in ids]


def _list(client, user, **params) -> str:
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        return client.get(reverse("leads:list"), params).content.decode()


def _list_ids(page: str) -> list[int]:
    body = page.split('id="lead-table"', 1)[1].split("</table>", 1)[0]
    return [int(pk) for pk in re.findall(r'href="/leads/(\d+)/"', body)]


def test_most_urgent_first_puts_the_overdue_lead_first_and_no_clock_last(client, manager, leads):
    ids = _list_ids(_list(client, manager, ordering="due"))
    assert _names(leads, ids)[:3] == ["Late", "Soon", "Calm"]
    assert set(_names(leads, ids)[3:]) == {"Met", "Fresh"}


def test_the_due_column_says_it_in_colour_and_words(client, manager, leads):
    page = _list(client, manager, ordering="due")
    table = page.split('id="lead-table"', 1)[1]
    assert 'title="Most urgent first">Due</a></th>' in table
    late = table.split(f'href="/leads/{leads["Late"].pk}/"', 1)[1].split("</tr>", 1)[0]
    assert '<span class="badge bad">overdue</span>' in late
    assert "overdue by 2 h" in late
    fresh = table.split(f'href="/leads/{leads["Fresh"].pk}/"', 1)[1].split("</tr>", 1)[0]
    assert "no SLA clock" in fresh


def test_the_urgent_order_pages_by_keyset_without_losing_or_repeating_a_lead(leads):
    sort = LIST_SORTS["due"]
    queryset = with_due_order(Lead.objects.all())
    seen: list[int] = []
    page = lead_page(queryset, sort=sort, size=2)
    pages = [page]
    while page.next_cursor:
        page = lead_page(queryset, sort=sort, size=2, after=page.next_cursor)
        pages.append(page)
    for page in pages:
        seen += [lead.pk for lead in page.leads]
    assert len(seen) == len(set(seen)) == 5
    assert _names(leads, seen)[:3] == ["Late", "Soon", "Calm"]
    back = lead_page(queryset, sort=sort, size=2, before=pages[1].previous_cursor)
    assert [lead.pk for lead in back.leads] == seen[:2]


@pytest.mark.parametrize("person", ["manager", "sales_rep", "marketer"])
def test_the_sorted_list_runs_the_same_queries_for_few_or_many(
    request, client, person, leads, make_lead, marketer, other_sales_rep
):
    client.force_login(request.getfixturevalue(person))

    def count() -> int:
        with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as ctx:
            client.get(reverse("leads:list"), {"ordering": "due"})
        return len(ctx)

    few = count()
    for n in range(6):
        make_lead(first_name=f"More{n}")
        at = NOW - timedelta(hours=n)
        lead_hand_off(  # more leads with running clocks, under another rep too
            lead=make_lead(first_name=f"Clocked{n}", now=at - timedelta(minutes=1)),
            actor=marketer,
            assignee=other_sales_rep,
            criteria=ALL_REQUIRED_CRITERIA,
            now=at,
        )
    assert count() == few


def test_the_api_orders_by_due_with_leads_without_open_goals_last(leads, manager):
    api = APIClient()
    api.force_login(manager)
    with time_machine.travel(NOW, tick=False):
        first = api.get("/api/v1/leads/", {"ordering": "due", "page_size": 3}).json()
        rest = api.get(first["next"]).json()
    ids = [row["id"] for row in first["results"] + rest["results"]]
    assert _names(leads, ids)[:3] == ["Late", "Soon", "Calm"]
    assert set(_names(leads, ids)[3:]) == {"Met", "Fresh"}


def test_the_api_documents_the_due_order():
    schema = APIClient().get("/api/schema/?format=json").json()
    params = schema["paths"]["/api/v1/leads/"]["get"]["parameters"]
    ordering = next(p for p in params if p["name"] == "ordering")
    assert "due" in ordering["schema"]["enum"]


def test_the_lead_page_shows_the_countdown_beside_the_actions(client, manager, leads):
    client.force_login(manager)
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("leads:detail", args=[leads["Soon"].pk])).content.decode()
    actions = page.split('id="h-actions"', 1)[1]
    countdown = actions.split('id="lead-countdown"', 1)[1].split("</p>", 1)[0]
    assert "due in 1 h" in countdown
    assert '<span class="badge warn">at risk</span>' in countdown
    with time_machine.travel(NOW, tick=False):
        met = client.get(reverse("leads:detail", args=[leads["Met"].pk])).content.decode()
    assert 'id="lead-countdown"' not in met

"""List power: sortable columns with keyset pages, a bounded count, saved views per person."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.errors import DomainError, ErrorCode
from leads.models import Lead, SavedView
from leads.selectors import bounded_count
from leads.services.saved_views import MAX_VIEWS, saved_view_create, saved_view_delete
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def _ids(page: str) -> list[int]:
    body = page.split('id="lead-table"', 1)[1].split("</table>", 1)[0]
    return [int(pk) for pk in re.findall(r'href="/leads/(\d+)/"', body)]


def test_a_column_sorts_both_ways_and_says_which(client, manager):
    for company in ("Beta", "Alpha", "Gamma"):
        LeadFactory(company=company)
    client.force_login(manager)
    page = client.get(reverse("leads:list"), {"ordering": "company"}).content.decode()
    companies = [Lead.objects.get(pk=pk).company for pk in _ids(page)]
    assert companies == ["Alpha", "Beta", "Gamma"]
    assert '<th scope="col" aria-sort="ascending"><a href="?ordering=-company">Company' in page
    page = client.get(reverse("leads:list"), {"ordering": "-company"}).content.decode()
    assert [Lead.objects.get(pk=pk).company for pk in _ids(page)] == ["Gamma", "Beta", "Alpha"]


def test_a_sorted_list_keeps_its_filters_in_the_column_links(client, manager):
    LeadFactory(company="Alpha")
    client.force_login(manager)
    page = client.get(reverse("leads:list"), {"stage": "engaged", "ordering": "company"})
    assert 'href="?stage=engaged&amp;ordering=-company"' in page.content.decode()


def test_sorted_pages_by_keyset_cover_every_lead_once(client, manager):
    for n in range(30):
        LeadFactory(last_name=f"Name{n % 7}")
    client.force_login(manager)
    seen: list[int] = []
    url = f"{reverse('leads:list')}?ordering=last_name"
    while url:
        page = client.get(url).content.decode()
        seen += _ids(page)
        found = re.search(r'href="\?([^"]*after=[^"]+)" rel="next"', page)
        url = f"{reverse('leads:list')}?{found.group(1).replace('&amp;', '&')}" if found else ""
    assert len(seen) == len(set(seen)) == 30
    names = [Lead.objects.get(pk=pk).last_name for pk in seen]
    assert names == sorted(names)


def test_the_count_is_exact_up_to_the_bound_then_says_plus(manager):
    LeadFactory.create_batch(4)
    assert bounded_count(Lead.objects.all(), bound=5) == (4, False)
    assert bounded_count(Lead.objects.all(), bound=4) == (4, False)
    assert bounded_count(Lead.objects.all(), bound=3) == (3, True)


def test_the_list_shows_the_count(client, manager, settings):
    LeadFactory.create_batch(3)
    client.force_login(manager)
    page = client.get(reverse("leads:list")).content.decode()
    assert "<strong>3</strong> leads match." in page


def test_a_list_beyond_the_bound_says_ten_thousand_plus(client, manager, monkeypatch):
    import leads.selectors

    monkeypatch.setattr(leads.selectors, "COUNT_BOUND", 2)
    monkeypatch.setattr(leads.selectors.bounded_count, "__defaults__", (2,))
    LeadFactory.create_batch(3)
    client.force_login(manager)
    page = client.get(reverse("leads:list")).content.decode()
    assert "<strong>2+</strong> leads match (counted up to 2)." in page


def test_a_saved_view_keeps_filters_and_order_but_not_the_page(sales_rep):
    view = saved_view_create(
        actor=sales_rep, name="  Hot  ", query="stage=qualified&ordering=due&after=abc&bogus=1"
    )
    assert (view.name, view.query) == ("Hot", "stage=qualified&ordering=due")


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "Give the view a name."), ("x" * 61, "name is too long (at most 60 characters).")],
)
def test_it_refuses_a_view_without_a_fitting_name(sales_rep, name, message):
    with pytest.raises(DomainError) as err:
        saved_view_create(actor=sales_rep, name=name, query="")
    assert (err.value.field, err.value.message) == ("name", message)
    assert not SavedView.objects.exists()


def test_it_refuses_a_second_view_of_the_same_name(sales_rep):
    saved_view_create(actor=sales_rep, name="Hot", query="")
    with pytest.raises(DomainError) as err:
        saved_view_create(actor=sales_rep, name="Hot", query="stage=won")
    assert "already have a view named 'Hot'" in err.value.message
    assert SavedView.objects.get().query == ""


def test_it_bounds_the_views_per_person(sales_rep):
    for n in range(MAX_VIEWS):
        saved_view_create(actor=sales_rep, name=f"v{n}", query="")
    with pytest.raises(DomainError):
        saved_view_create(actor=sales_rep, name="one more", query="")


def test_a_person_cannot_delete_someone_elses_view(sales_rep, other_sales_rep):
    view = saved_view_create(actor=sales_rep, name="Mine", query="")
    with pytest.raises(DomainError) as err:
        saved_view_delete(actor=other_sales_rep, view_id=view.pk)
    assert err.value.code == ErrorCode.NOT_FOUND
    assert SavedView.objects.filter(pk=view.pk).exists()


def test_saved_views_are_chips_for_their_owner_only(client, sales_rep, other_sales_rep):
    client.force_login(sales_rep)
    answer = client.post(
        reverse("leads:view_save"), {"name": "Qualified", "query": "stage=qualified"}
    )
    assert answer.headers["Location"] == f"{reverse('leads:list')}?stage=qualified"
    page = client.get(answer.headers["Location"]).content.decode()
    assert '<a href="/leads/?stage=qualified" aria-current="true">Qualified</a>' in page
    client.force_login(other_sales_rep)
    assert "Qualified</a>" not in client.get(reverse("leads:list")).content.decode()


def test_a_refused_view_says_why_and_keeps_the_list(client, sales_rep):
    client.force_login(sales_rep)
    answer = client.post(
        reverse("leads:view_save"), {"name": "", "query": "stage=qualified"}, follow=True
    )
    assert "View not saved: Give the view a name." in answer.content.decode()
    assert answer.redirect_chain[-1][0] == f"{reverse('leads:list')}?stage=qualified"


def test_the_list_with_views_and_count_runs_the_same_queries(client, sales_rep):
    client.force_login(sales_rep)
    saved_view_create(actor=sales_rep, name="One", query="stage=engaged")
    LeadFactory()

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            client.get(reverse("leads:list"), {"ordering": "company"})
        return len(ctx)

    few = count()
    LeadFactory.create_batch(8)
    saved_view_create(actor=sales_rep, name="Two", query="stage=won")
    assert count() == few


def test_quick_filter_chips_show_only_where_they_apply(client, marketer, sales_rep, manager):
    def chips(user) -> set[str]:
        client.force_login(user)
        page = client.get(reverse("leads:list")).content.decode()
        nav = page.split('aria-label="Saved views"', 1)[1].split("</nav>", 1)[0]
        return set(re.findall(r"\?view=(\w+)", nav))

    assert chips(sales_rep) == {"waiting", "mine", "at_risk"}
    assert chips(marketer) == {"mine", "recycled", "at_risk"}
    assert chips(manager) == {"waiting", "mine", "recycled", "at_risk"}


def test_the_waiting_view_opens_most_urgent_first(client, sales_rep):
    client.force_login(sales_rep)
    page = client.get(reverse("leads:list"), {"view": "waiting"}).content.decode()
    assert '<option value="due" selected>Most urgent first</option>' in page


def test_filters_too_long_to_save_are_refused_not_a_server_error(client, sales_rep):
    client.force_login(sales_rep)
    long_query = "q=" + "x" * 1200
    answer = client.post(
        reverse("leads:view_save"), {"name": "Long", "query": long_query}, follow=True
    )
    assert answer.status_code == 200
    assert "View not saved: These filters are too long" in answer.content.decode()
    assert not SavedView.objects.exists()

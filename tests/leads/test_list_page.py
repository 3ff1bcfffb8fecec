"""The leads list page: what its filter selects and rows show, that a chosen id is checked
against the options offered, and a fixed number of queries whatever the data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.models import Role
from leads.filters import LeadFilter
from leads.lifecycle import Stage
from leads.models import Lead
from tests.factories import CampaignFactory, LeadFactory, PersonaFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _queries(client, url: str, **headers: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **headers)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _rows(content: bytes) -> str:
    page = content.decode()
    return page[page.index("<tbody>") : page.index("</tbody>")]


def test_the_filter_selects_offer_the_options_and_keep_the_choice(client, manager, sales_rep):
    campaign = CampaignFactory(name='Q4 <b>"launch"</b> & more')
    PersonaFactory(name="Ops <lead>")
    UserFactory(username="gone", role=Role.SALES_REP, is_active=False)
    client.force_login(manager)

    page = client.get(
        reverse("leads:list"),
        {"stage": "qualified", "owner": sales_rep.pk, "campaign": campaign.pk, "team": "sales"},
    ).content.decode()

    assert '<option value="">Anyone</option>' in page
    assert f'<option value="{sales_rep.pk}" selected>{sales_rep.username}</option>' in page
    assert '<option value="qualified" selected>Qualified</option>' in page
    assert '<option value="sales" selected>Sales</option>' in page
    assert (
        f'<option value="{campaign.pk}" selected>'
        "Q4 &lt;b&gt;&quot;launch&quot;&lt;/b&gt; &amp; more</option>"
    ) in page
    assert "Ops &lt;lead&gt;" in page
    assert ">gone<" not in page  # inactive people own no new work


def test_it_checks_a_chosen_owner_against_the_listed_owners(
    client, manager, sales_rep, integration_user
):
    client.force_login(manager)
    url = reverse("leads:list")
    assert not client.get(url, {"owner": str(sales_rep.pk)}).context["filter"].errors
    for refused in (str(integration_user.pk), "abc", "1.5", "9" * 30, "1\x00"):
        response = client.get(url, {"owner": refused})
        assert response.status_code == 200
        assert "owner" in response.context["filter"].errors, refused
        assert "Some filters are not valid: owner (" in response.content.decode()
        assert response.context["page"].leads == []


def test_each_row_shows_the_lead_with_every_value_escaped(client, manager, sales_rep):
    LeadFactory(
        first_name="<script>alert(1)</script>",
        last_name="O'Brien & Co",
        company="",
        stage=Stage.QUALIFIED,
        owner=sales_rep,
        owner_team="sales",
        campaign=CampaignFactory(name="Spring <sale>"),
        persona=PersonaFactory(name='"Ops"'),
        created_at=datetime(2026, 3, 31, 23, 30, tzinfo=UTC),  # 1 April in London (BST)
    )
    nobody = LeadFactory(first_name="", last_name="", email="nobody@example.com", owner=None)
    client.force_login(manager)

    rows = _rows(client.get(reverse("leads:list")).content)

    assert "<script>" not in rows
    assert "&lt;script&gt;alert(1)&lt;/script&gt; O&#x27;Brien &amp; Co</a>" in rows
    assert '<span class="badge qualified">Qualified</span> <span class="badge warn">' in rows
    assert f"<td>{sales_rep.display_name}</td>" in rows
    assert "<td>Spring &lt;sale&gt;</td>" in rows and "<td>&quot;Ops&quot;</td>" in rows
    assert '<time datetime="2026-04-01T00:30:00+01:00">1 Apr 2026</time>' in rows
    assert f'<a href="/leads/{nobody.pk}/">nobody@example.com</a>' in rows
    assert rows.count("<td>—</td>") == 1 + 3  # the first lead's company; nobody's owner etc.


def test_an_empty_list_says_so(client, manager):
    client.force_login(manager)
    rows = _rows(client.get(reverse("leads:list"), {"q": "nobody"}).content)
    assert '<td colspan="9" class="muted">No leads match.</td>' in rows


def test_the_filtered_list_runs_the_same_queries_whatever_the_data(client, manager, sales_rep):
    client.force_login(manager)
    url = f"{reverse('leads:list')}?stage=qualified&owner={sales_rep.pk}"
    LeadFactory.create_batch(3, stage=Stage.QUALIFIED, owner=sales_rep, owner_team="sales")
    few = _queries(client, url)

    for _ in range(5):
        UserFactory(role=Role.SALES_REP)
        CampaignFactory()
        PersonaFactory()
    LeadFactory.create_batch(
        40,
        stage=Stage.QUALIFIED,
        owner=sales_rep,
        owner_team="sales",
        campaign=CampaignFactory(),
        persona=PersonaFactory(),
    )
    many = _queries(client, url)

    # Session, user, the people who may own leads (the owner filter's options, against which
    # the chosen owner is checked, and the bulk bar's sales reps), one query per other option
    # list (campaigns, personas), the bounded count, the page of leads, their SLA clocks (the
    # Due column), the person's saved views, and the header's unread count.
    assert few == many == 10


def test_the_results_swapped_in_place_read_only_what_they_show(client, manager, sales_rep):
    """The fragment htmx asks for has no selects: option lists are read only to check an id."""
    client.force_login(manager)
    LeadFactory.create_batch(3, stage=Stage.QUALIFIED, owner=sales_rep, owner_team="sales")
    url = reverse("leads:list")

    # session, user, the people (owners to check an id against, the bulk bar's sales reps),
    # the bounded count, page, the page's clocks
    assert _queries(client, f"{url}?stage=qualified&q=a", **HTMX) == 6
    assert _queries(client, f"{url}?stage=qualified&owner={sales_rep.pk}", **HTMX) == 6
    campaign = CampaignFactory()
    LeadFactory(stage=Stage.QUALIFIED, owner=sales_rep, owner_team="sales", campaign=campaign)
    # ... and the campaigns, to check the chosen one
    assert _queries(client, f"{url}?stage=qualified&campaign={campaign.pk}", **HTMX) == 7


@pytest.mark.postgres
def test_the_owner_and_stage_filter_reads_one_page_of_its_index(sales_rep):
    LeadFactory.create_batch(5, stage=Stage.QUALIFIED, owner=sales_rep, owner_team="sales")
    lead_filter = LeadFilter(
        {"stage": "qualified", "owner": str(sales_rep.pk)},
        queryset=Lead.objects.select_related("owner", "campaign", "persona"),
        owners=[(sales_rep.pk, sales_rep.username)],
    )
    assert lead_filter.is_valid()
    page = lead_filter.qs.order_by("-created_at", "-id")[:26]
    sql, params = page.query.sql_with_params()

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "lead_owner_stage_new_idx" in plan
    assert "Sort" not in plan

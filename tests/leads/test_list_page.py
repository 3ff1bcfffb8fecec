"""The leads list page: its filter selects and rows are written in Python (leads.filter_fields,
leads.templatetags.lead_list); these tests hold them to what Django's templates wrote, and the
page to a fixed number of queries whatever the data."""

from __future__ import annotations

import pytest
from django import forms
from django.db import connection, transaction
from django.template import engines
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.models import Role
from leads.filters import LeadFilter
from leads.lifecycle import Stage
from leads.models import Lead
from leads.pagination import lead_page
from tests.factories import CampaignFactory, LeadFactory, PersonaFactory, UserFactory

pytestmark = pytest.mark.django_db

SELECTS = ("stage", "owner", "team", "campaign", "persona")

# The row markup the list template had before rows were written by {% lead_rows %}.
ROW_TEMPLATE = """{% for lead in page.leads %}
    <tr>
      <td><a href="{% url 'leads:detail' lead.pk %}">{{ lead.full_name|default:lead.email }}</a><div class="muted small">{{ lead.email }}</div></td>
      <td>{{ lead.company|default:"—" }}</td>
      <td><span class="badge {{ lead.stage }}">{{ lead.get_stage_display }}</span>{% if lead.stage == "qualified" and not lead.accepted_at %} <span class="badge warn">awaiting acceptance</span>{% endif %}</td>
      <td>{{ lead.owner.display_name|default:"—" }}</td>
      <td>{{ lead.campaign.name|default:"—" }}</td>
      <td>{{ lead.persona.name|default:"—" }}</td>
      <td><time datetime="{{ lead.created_at|date:'c' }}">{{ lead.created_at|date:"j M Y" }}</time></td>
    </tr>
  {% endfor %}"""  # noqa: E501


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _as_django_renders(bound_field) -> str:
    widget = bound_field.field.widget
    plain = type(widget)
    widget.__class__ = forms.Select
    try:
        return str(bound_field)
    finally:
        widget.__class__ = plain


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"stage": "qualified", "owner": "{owner}", "campaign": "{campaign}", "team": "sales"},
        {"stage": "nowhere", "owner": "abc", "campaign": "99999999"},
        {"owner": "{inactive}"},
    ],
)
def test_it_renders_the_filter_selects_as_django_does(data, sales_rep):
    campaign = CampaignFactory(name='Q4 <b>"launch"</b> & more')
    PersonaFactory(name="Ops <lead>")
    inactive = UserFactory(role=Role.SALES_REP, is_active=False)
    values = {"owner": sales_rep.pk, "campaign": campaign.pk, "inactive": inactive.pk}
    lead_filter = LeadFilter({k: v.format(**values) for k, v in data.items()})
    lead_filter.is_valid()

    for name in SELECTS:
        bound = lead_filter.form[name]
        assert str(bound) == _as_django_renders(bound), name
    assert "&lt;b&gt;&quot;launch&quot;&lt;/b&gt; &amp; more" in str(lead_filter.form["campaign"])


def test_it_checks_a_chosen_owner_against_the_listed_owners(sales_rep, integration_user):
    assert LeadFilter({"owner": str(sales_rep.pk)}).is_valid()
    assert LeadFilter({"owner": f" {sales_rep.pk}"}).is_valid()
    for refused in (str(integration_user.pk), "abc", "1.5", "9" * 30, "1\x00"):
        lead_filter = LeadFilter({"owner": refused})
        assert not lead_filter.is_valid(), refused
        assert "owner" in lead_filter.errors


def test_it_writes_the_same_rows_as_the_row_template(sales_rep, marketer):
    LeadFactory(
        first_name="<script>alert(1)</script>",
        last_name="O'Brien & Co",
        company="",
        stage=Stage.QUALIFIED,
        owner=sales_rep,
        owner_team="sales",
        campaign=CampaignFactory(name="Spring <sale>"),
        persona=PersonaFactory(name='"Ops"'),
    )
    LeadFactory(first_name="", last_name="", email="nobody@example.com", owner=None)
    LeadFactory(owner=marketer, stage=Stage.NURTURE)
    page = lead_page(Lead.objects.select_related("owner", "campaign", "persona"))
    from leads.templatetags.lead_list import lead_rows

    expected = engines["django"].from_string(ROW_TEMPLATE).render({"page": page})
    assert lead_rows(page.leads) == expected
    assert "&lt;script&gt;" in expected and "awaiting acceptance" in expected


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

    # Session, user, the page of leads, unread notices, and one query per option list
    # (owners, campaigns, personas; the chosen owner is checked against its list).
    assert few == many == 7


@pytest.mark.postgres
def test_the_owner_and_stage_filter_reads_one_page_of_its_index(sales_rep):
    LeadFactory.create_batch(5, stage=Stage.QUALIFIED, owner=sales_rep, owner_team="sales")
    lead_filter = LeadFilter(
        {"stage": "qualified", "owner": str(sales_rep.pk)},
        queryset=Lead.objects.select_related("owner", "campaign", "persona"),
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

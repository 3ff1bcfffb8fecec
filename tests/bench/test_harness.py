"""The bench harness's own parts: seeded rows obey the lead rules, the table shows ratios, the
list page's ceiling shows the same rows as the page."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

import bench.bare
from bench.report import Row, ratio, render
from bench.seed import OPEN, _leads, reference_data, seed_leads
from leads.lifecycle import STAGE_OWNER
from leads.models import NO_DUE, Lead
from sla.models import Breach, ClockState, SlaClock

pytestmark = pytest.mark.django_db


def test_seeded_leads_keep_stage_owner_team_and_unique_emails() -> None:
    now = timezone.now()
    ref = reference_data(now)
    leads = list(_leads(1, 500, ref, now))

    assert len({lead.row[3] for lead in leads}) == 500
    assert {lead.stage for lead in leads} >= set(OPEN)
    for lead in leads:
        assert lead.row[13] == STAGE_OWNER[lead.stage]
        assert lead.created <= lead.changed <= now


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the seed loads with COPY")
def test_seeded_clocks_are_left_as_the_clock_rules_leave_them() -> None:
    """A lead that has left engaged was first touched, so its first-touch clock waits for
    nothing: met at the lead's first touch, on time, or breached and met late (with its breach
    row). Only open leads have clocks still waiting (running, at risk or past due, each already
    flagged as the sweep would), and only they have a next due time."""
    now = timezone.now()
    seed_leads(1, 2_000, reference_data(now), now)
    leads = {lead.pk: lead for lead in Lead.objects.all()}
    breached = set(Breach.objects.values_list("clock_id", flat=True))
    late = on_time = 0
    shown: Counter[str] = Counter()
    for clock in SlaClock.objects.all():
        lead = leads[clock.lead_id]
        if lead.stage in OPEN:
            assert clock.met_at is None and lead.next_due_at == clock.due_at
            assert clock.started_at <= clock.at_risk_at <= clock.due_at
            assert clock.display_state(at=now) == clock.state
            shown[clock.state] += 1
            assert (clock.state == ClockState.BREACHED) == (clock.pk in breached)
            continue
        assert lead.next_due_at == NO_DUE
        assert clock.met_at == lead.first_touch_at and clock.cancelled_at is None
        if clock.met_at > clock.due_at:
            late += 1
            assert clock.state == ClockState.BREACHED and clock.breached_at == clock.due_at
            assert clock.pk in breached
        else:
            on_time += 1
            assert clock.state == ClockState.MET and clock.pk not in breached
    assert late and on_time
    # Every state a clock can show now, each as the sweep leaves it (flagged when shown).
    assert set(shown) == {ClockState.RUNNING, ClockState.AT_RISK, ClockState.BREACHED}


def test_the_table_puts_each_figure_beside_its_ceiling_as_a_ratio() -> None:
    rows = [
        Row(
            "ingest", "single create", "300/s", "bare 500/s", ratio(300, 500, higher_is_better=True)
        ),
        Row("sweep", "1,000 due", "30 ms", "bare 6 ms", ratio(30, 6, higher_is_better=False)),
    ]

    table = render(rows, {"cores": "2"})

    assert "60%" in table
    assert "5.00x" in table
    assert table.index("[ingest]") < table.index("[sweep]")


def test_the_list_page_ceiling_renders_the_same_rows_as_the_page(client, manager, sales_rep):
    """The bare ListView reads the product's tables with its own models and template: for the
    same filter it must show exactly the rows and cells the leads list page shows."""
    from django.template import Context, Engine
    from django.test import RequestFactory

    from bench.bare.urls import LeadRows
    from leads.lifecycle import Stage
    from leads.pagination import PAGE_SIZE
    from tests.factories import CampaignFactory, LeadFactory, PersonaFactory

    LeadFactory.create_batch(
        PAGE_SIZE + 2,
        stage=Stage.QUALIFIED,
        owner=sales_rep,
        owner_team="sales",
        campaign=CampaignFactory(name="Spring <sale>"),
        persona=PersonaFactory(),
    )
    for accepted_at in (None, timezone.now()):
        LeadFactory(
            first_name="",
            company="",
            stage=Stage.QUALIFIED,
            owner=sales_rep,
            owner_team="sales",
            accepted_at=accepted_at,
        )
    LeadFactory.create_batch(3, stage=Stage.ENGAGED)
    query = f"stage=qualified&owner={sales_rep.pk}"
    client.force_login(manager)
    product = client.get(f"/leads/?{query}").content.decode()

    view = LeadRows()
    view.setup(RequestFactory().get(f"/list/?{query}&rows={PAGE_SIZE}"))
    engine = Engine(dirs=[Path(bench.bare.__file__).parent / "templates"])
    bare = engine.get_template("bare/lead_list.html").render(
        Context({"object_list": view.get_queryset()})
    )

    def rows(page: str) -> list[str]:
        body = page[page.index("<tbody>") : page.index("</tbody>")]
        return [" ".join(row.split()) for row in body.split("<tr>")[1:]]

    def without_due(row: str) -> str:
        """The page's third cell (after the tick box and the name) is the Due column, which
        reads the leads' SLA clocks and counts business time: the ceiling leaves it out, so
        the page does more than it."""
        cells = row.split("</td>")
        return "</td>".join([*cells[:2], *cells[3:]])

    assert len(rows(product)) == PAGE_SIZE
    assert 'data-state="' in product or "no SLA clock" in product  # the Due column is there
    assert rows(bare) == [without_due(row) for row in rows(product)]

"""The bench harness's own parts: seeded rows obey the lead rules, the table shows ratios."""

from __future__ import annotations

import pytest
from django.utils import timezone

from bench.report import Row, ratio, render
from bench.seed import OPEN, _leads, reference_data
from leads.lifecycle import STAGE_OWNER

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

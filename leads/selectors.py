"""Reads that span models: used by pages, the API and reports alike."""

from __future__ import annotations

from decimal import Decimal
from typing import TypedDict

from django.db.models import Count, Sum

from leads.lifecycle import STAGE_ORDER, STAGE_OWNER, Stage
from leads.models import Lead


class StageRow(TypedDict):
    stage: str
    label: str
    owner_team: str
    count: int
    value: Decimal


def pipeline_by_stage() -> list[StageRow]:
    """Leads and estimated value per stage, in funnel order, from one GROUP BY."""
    totals = {
        row["stage"]: row
        for row in Lead.objects.order_by()
        .values("stage")
        .annotate(count=Count("id"), value=Sum("estimated_value"))
    }
    return [
        StageRow(
            stage=stage,
            label=Stage(stage).label,
            owner_team=STAGE_OWNER[stage],
            count=totals.get(stage, {}).get("count", 0),
            value=totals.get(stage, {}).get("value") or Decimal("0"),
        )
        for stage in STAGE_ORDER
    ]

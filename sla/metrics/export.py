"""Metric values as data: the API's and the CSV export's one way of writing a value."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings

from crm.csv_files import csv_text
from sla.metrics.catalogue import BY_KEY, REJECTED_BY_REASON, Metric, Unit


def plain_value(metric: Metric, value: Any) -> int | float | None:
    """A value as a number: durations in seconds, amounts to the cent, rates in percent."""
    if value is None:
        return None
    if metric.unit == Unit.DURATION:
        assert isinstance(value, timedelta)
        return round(value.total_seconds())
    if isinstance(value, Decimal):
        return float(value)
    return value


def summary_rows(values: dict[str, Any], reasons: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """One row per metric (key, label, value, unit, shown, currency), in catalogue order,
    then one `rejected_by_reason` row per reason."""
    rows = []
    for key, value in values.items():
        metric = BY_KEY[key]
        rows.append(
            {
                "key": key,
                "label": metric.label,
                "value": plain_value(metric, value),
                "unit": str(metric.unit),
                "shown": metric.shown(value),
                "currency": settings.CURRENCY if metric.unit == Unit.MONEY else None,
                "reason": None,
            }
        )
    for reason, count in reasons:
        metric = REJECTED_BY_REASON
        rows.append(
            {
                "key": metric.key,
                "label": metric.label,
                "value": count,
                "unit": str(metric.unit),
                "shown": metric.shown(count),
                "currency": None,
                "reason": reason,
            }
        )
    return rows


CSV_HEADER = ["key", "label", "reason", "value", "unit", "currency", "shown"]


def summary_csv(rows: list[dict[str, Any]]) -> str:
    return csv_text([CSV_HEADER, *([row[column] for column in CSV_HEADER] for row in rows)])

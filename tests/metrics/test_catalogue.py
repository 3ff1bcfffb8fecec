"""The catalogue: how values read, one currency, and the Definitions page listing every metric."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from sla.metrics.catalogue import CATALOGUE, Unit, format_value


def test_values_read_with_separators_and_units(settings):
    settings.CURRENCY = "EUR"
    assert format_value(Unit.COUNT, 1234567) == "1,234,567"
    assert format_value(Unit.PERCENT, 86.14) == "86.1%"
    assert format_value(Unit.DURATION, timedelta(hours=1, minutes=24)) == "1 h 24 min"
    assert format_value(Unit.MONEY, Decimal("1234567.5")) == "€1,234,567.50"
    assert format_value(Unit.PERCENT, None) == "—"


@pytest.mark.parametrize(("code", "shown"), [("USD", "$1,500.00"), ("CHF", "1,500.00 CHF")])
def test_every_amount_is_in_the_one_currency(settings, code, shown):
    settings.CURRENCY = code
    assert format_value(Unit.MONEY, Decimal("1500")) == shown


def test_each_metric_says_how_it_is_counted():
    for metric in CATALOGUE:
        assert metric.definition.endswith(".") and metric.period_rule in metric.formula()
        assert metric.key.isidentifier() and metric.key == metric.key.lower()


@pytest.mark.django_db
def test_the_definitions_page_lists_every_metric(client, marketer):
    client.force_login(marketer)
    page = client.get(reverse("leads:definitions")).content.decode()
    assert 'id="h-metrics">Metrics</h2>' in page
    for metric in CATALOGUE:
        assert f'id="metric-{metric.key}"' in page, metric.key

"""`thousands`: the text of `floatformat:N|intcomma` (or `intcomma` alone) for the figures of
large tables, without the per-call localisation lookups that made those two filters a large
part of the dashboard's render time. The site is English-only (USE_I18N off), so grouping is
always "," and the decimal point ".": the same text either way (tests/crm/test_figures.py)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.defaultfilters import floatformat

register = template.Library()


@register.filter(is_safe=True)
def thousands(value: Any, places: int | None = None) -> Any:
    """`value|thousands` reads as `value|intcomma`, `value|thousands:2` as
    `value|floatformat:2|intcomma`."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return intcomma(value if places is None else floatformat(value, places))
    if places is None:
        return f"{value:,}" if isinstance(value, int) else intcomma(value)
    if isinstance(value, Decimal) and not value.is_finite():
        return intcomma(floatformat(value, places))
    rounded = Decimal(value).quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP)
    if not rounded:
        rounded = abs(rounded)  # floatformat never shows "-0"
    return f"{rounded:,.{int(places)}f}"

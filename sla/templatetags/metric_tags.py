"""A catalogue figure as a page shows it: its value with its key, its label linked to its
definition. Tags rather than included templates: the dashboard shows a few hundred figures
(one per campaign and column), and an include per figure cost more than the page's queries
at 10,000 leads (format_html per figure, about half of what was left). No queries: `m` is a
`sla.metrics.compute.Figure` or a catalogue `Metric`.
"""

from __future__ import annotations

from html import escape
from typing import Any

from django import template
from django.template import Context
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


def _e(value: Any) -> str:
    return escape(str(value))


def _definitions_url(context: Context) -> str:
    """The Definitions page's address, reversed once per page rendered."""
    cache = context.render_context
    if "metric_definitions_url" not in cache:
        cache["metric_definitions_url"] = reverse("leads:definitions")
    return cache["metric_definitions_url"]


@register.simple_tag(takes_context=True)
def metric_label(context: Context, m: Any) -> SafeString | str:
    """The metric's label, a link to its definition with the definition as its tooltip."""
    if not m:
        return ""
    href = f"{_definitions_url(context)}#metric-{m.key}"
    return mark_safe(  # every value is escaped
        f'<a class="metric-label" href="{_e(href)}" title="{_e(m.definition)}">{_e(m.label)}</a>'
    )


@register.simple_tag
def metric_value(m: Any, group: Any = None) -> SafeString | str:
    """The figure's value, carrying its metric key (and `group`, the row it belongs to)."""
    if not m:
        return ""
    grouped = f' data-group="{_e(group)}"' if group else ""
    return mark_safe(  # every value is escaped
        f'<span class="metric-value" data-metric="{_e(m.key)}"{grouped} '
        f'title="{_e(m.label)}: {_e(m.definition)}">{_e(m.shown)}</span>'
    )


@register.simple_tag(takes_context=True)
def metric_stat(context: Context, m: Any) -> SafeString | str:
    """A headline figure: its value large, its label under it."""
    if not m:
        return ""
    return mark_safe(  # every value is escaped, the label by metric_label
        f'<div class="stat"><span class="value" data-metric="{_e(m.key)}" '
        f'title="{_e(m.label)}: {_e(m.definition)}">{_e(m.shown)}</span>'
        f'<span class="label">{metric_label(context, m)}</span></div>'
    )

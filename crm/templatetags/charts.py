"""Bar charts drawn by the page itself: each bar's length as a share of the longest.

The dashboard's charts are plain HTML and SVG rather than a script drawing on a canvas: they
show up with the page (nothing to run while it loads), print, and need no inline style (the
SVG `width` attribute is not a style, so the Content-Security-Policy stays strict).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django import template

register = template.Library()


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    length: str  # percent of the longest bar, "0.0" to "100.0", dot-decimal for SVG


@register.filter
def bars(series: dict[str, Sequence]) -> list[Bar]:
    """`{"labels": [...], "counts": [...]}` (a dashboard chart series) as bars."""
    longest = max(series["counts"], default=0)
    return [
        Bar(
            label=str(label),
            count=count,
            length=f"{100 * count / longest:.1f}" if longest else "0.0",
        )
        for label, count in zip(series["labels"], series["counts"], strict=True)
    ]

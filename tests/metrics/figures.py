"""Read back what a person sees: every element of a page marked with `data-metric`."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from html import unescape
from html.parser import HTMLParser


class _FigureReader(HTMLParser):
    """Collects the text of each element carrying `data-metric`, by key; figures of one
    group (`data-group`) or one reason (`data-reason`) are kept apart from the totals."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, list[str]] = defaultdict(list)
        self.grouped: dict[str, list[str]] = defaultdict(list)
        self._open: list[tuple[str, str | None, bool, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        key = found.get("data-metric")
        grouped = "data-group" in found or "data-reason" in found
        self._open.append((tag, key, grouped, []))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            open_tag, key, grouped, text = self._open.pop()
            if key:
                (self.grouped if grouped else self.figures)[key].append(" ".join(text).strip())
            if self._open:
                self._open[-1][3].extend(text)
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._open and data.strip():
            self._open[-1][3].append(data.strip())


VOID = {"br", "img", "input", "meta", "link", "hr", "source", "col", "wbr"}


class _PageReader(_FigureReader):
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            super().handle_starttag(tag, attrs)


def page_figures(html: str) -> dict[str, set[str]]:
    """{metric key: the distinct texts shown for it} (totals only, not per group)."""
    reader = _PageReader()
    reader.feed(html)
    return {key: set(texts) for key, texts in reader.figures.items()}


def csv_figures(text: str) -> dict[str, dict[str, str]]:
    """{metric key: its CSV row} for the rows that are not per reason."""
    rows = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))  # the byte order mark
    return {row["key"]: row for row in rows if not row["reason"]}


LABEL = re.compile(r'<a class="metric-label" href="[^"#]*#metric-([a-z0-9_]+)"[^>]*>([^<]*)</a>')


def page_labels(html: str) -> set[tuple[str, str]]:
    """(label text, metric key) of every metric label a page shows."""
    return {(unescape(text).strip(), key) for key, text in LABEL.findall(html)}

"""Every CSV file the product writes: one writer, so no export forgets a rule.

- Each cell, headers included, is defused: a cell a spreadsheet would run as a formula
  (starting with = + - @, a tab or a carriage return, after any spaces) gets a leading
  apostrophe, which spreadsheet programs show as text. Plain numbers such as phone numbers
  (`+44 20 7000 0000`) and negative amounts stay as they are: without letters a cell can call
  no function.
- The file starts with a byte order mark, so spreadsheet programs read it as UTF-8 rather
  than the system code page; it is served as `text/csv; charset=utf-8`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import Any

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
BYTE_ORDER_MARK = "\ufeff"

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?[\d\s().]+$")


def safe_cell(value: Any) -> str:
    """The cell as text a spreadsheet shows and never runs."""
    text = "" if value is None else str(value)
    if text.lstrip(" ").startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def csv_lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The file line by line (for streaming), the byte order mark first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    prefix = BYTE_ORDER_MARK
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([safe_cell(value) for value in row])
        yield prefix + buffer.getvalue()
        prefix = ""
    if prefix:
        yield prefix


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """The whole file as one string."""
    return "".join(csv_lines(rows))

"""The one CSV writer: every cell defused, headers included, UTF-8 with a byte order mark."""

from __future__ import annotations

import csv
import io

import pytest

from crm.csv_files import csv_lines, csv_text, safe_cell


@pytest.mark.parametrize(
    "cell",
    [
        '=HYPERLINK("http://evil.example","x")',
        "+cmd|' /C calc'!A0",
        "@SUM(A1)",
        "-2+3+cmd|' /C calc'!A0",
        "\t=1+1",
        "\r=1+1",
        "  =1+1",
    ],
)
def test_it_defuses_a_cell_a_spreadsheet_would_run(cell):
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["+44 20 7000 0000", "-12.50", "Ann", "", "a=b", "(555) 010"])
def test_it_leaves_plain_text_and_numbers_alone(cell):
    assert safe_cell(cell) == cell


def test_it_writes_a_byte_order_mark_once_and_defuses_the_header():
    text = csv_text([["=HYPERLINK(1)", "@SUM(A1)"], ["+cmd|calc!A0", "ok"]])
    assert text.startswith("\ufeff") and text.count("\ufeff") == 1
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows == [["'=HYPERLINK(1)", "'@SUM(A1)"], ["'+cmd|calc!A0", "ok"]]


def test_an_empty_file_is_still_marked_utf8():
    assert list(csv_lines([])) == ["\ufeff"]

"""CSV files as spreadsheet programs write them: any separator, any line ending, a byte order
mark, quoted newlines, blank rows, and the header names people use. Rows are reported by the
line a person sees in the file; operators run the same import with `manage.py import_leads`."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from crm.errors import DomainError
from leads.models import ImportJob, Lead
from leads.services.imports import guess_mapping, import_file, import_upload

pytestmark = pytest.mark.django_db

# Semicolons, a byte order mark, CRLF, a quoted newline (lines 2-3), a blank row and a row of
# separators only (lines 5-6), a duplicate of line 2 (line 7) and a bad address (line 8).
EUROPEAN = (
    "\ufeffE-mail address;Full name;Organisation\r\n"
    'ann@acme.example;Ann Lee;"Acme\r\nLogistics"\r\n'
    'bob@beta.example;Bob;"Beta; GmbH"\r\n'
    ";;\r\n"
    "\r\n"
    "ANN@acme.example;Ann Again;Acme\r\n"
    "not-an-address;Cy;Gamma\r\n"
    'dee@delta.example;Dee Dee Ramone;"Delta ""Quoted"""\r\n'
).encode()


def _run_command(tmp_path: Path, raw: bytes, *args: str) -> tuple[str, Path]:
    path = tmp_path / "leads.csv"
    path.write_bytes(raw)
    out = io.StringIO()
    call_command("import_leads", str(path), *args, stdout=out)
    return out.getvalue(), tmp_path / "leads.errors.csv"


def test_the_command_imports_a_european_spreadsheet_file(tmp_path, marketer):
    output, report = _run_command(tmp_path, EUROPEAN, "--user", marketer.username)

    assert output.splitlines() == ["imported 3, refused 2", f"error report: {report}"]
    leads = {lead.email: lead for lead in Lead.objects.all()}
    assert set(leads) == {"ann@acme.example", "bob@beta.example", "dee@delta.example"}
    assert (leads["ann@acme.example"].first_name, leads["ann@acme.example"].last_name) == (
        "Ann",
        "Lee",
    )
    assert leads["ann@acme.example"].company == "Acme\r\nLogistics"
    assert leads["bob@beta.example"].company == "Beta; GmbH"
    assert (leads["dee@delta.example"].first_name, leads["dee@delta.example"].last_name) == (
        "Dee Dee",
        "Ramone",
    )
    assert leads["dee@delta.example"].company == 'Delta "Quoted"'
    rows = list(csv.reader(io.StringIO(report.read_text(encoding="utf-8-sig"))))
    assert [row[:2] for row in rows[1:]] == [["7", "email"], ["8", "email"]]
    assert "already exists" in rows[1][2]


def test_a_dry_run_reports_the_same_and_keeps_nothing(tmp_path, marketer):
    output, report = _run_command(tmp_path, EUROPEAN, "--user", marketer.username, "--dry-run")

    assert output.splitlines()[0] == "imported 3, refused 2 (dry run: nothing saved)"
    assert report.exists()
    assert not Lead.objects.exists() and not ImportJob.objects.exists()


def test_the_command_refuses_by_name(tmp_path, marketer, sales_rep):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        _run_command(tmp_path, EUROPEAN, "--user", "nobody")
    with pytest.raises(CommandError, match="Only marketing"):
        _run_command(tmp_path, EUROPEAN, "--user", sales_rep.username)
    with pytest.raises(CommandError, match="Choose the column that holds the email"):
        _run_command(tmp_path, b"Mail,Phone\na@b.example,1\n", "--user", marketer.username)


@pytest.mark.parametrize(
    "ending", ["\r", "\n", "\r\n"], ids=["old-mac-cr", "unix-lf", "windows-crlf"]
)
@pytest.mark.parametrize("separator", [",", ";", "\t", "|"], ids=["comma", "semi", "tab", "pipe"])
def test_it_reads_every_separator_and_line_ending(marketer, separator, ending):
    lines = [
        ["Email", "First Name", "Company"],
        ["a@acme.example", "Ann", "Acme, Inc."],
        ["", "", ""],
        ["bad", "Bo", "Beta"],
        ["c@acme.example", "Cy", "Gamma"],
    ]
    raw = ending.join(
        separator.join(f'"{cell}"' if "," in cell else cell for cell in row) for row in lines
    )
    job = import_file(actor=marketer, filename="x.csv", raw=raw.encode())

    assert (job.total_rows, job.imported_count, job.error_count) == (3, 2, 1)
    assert [(e["row"], e["field"]) for e in job.errors] == [(4, "email")]
    assert Lead.objects.get(email="a@acme.example").company == "Acme, Inc."


def test_it_names_the_line_of_broken_quoting(marketer):
    with pytest.raises(DomainError, match="line 3"):
        import_upload(
            actor=marketer,
            filename="x.csv",
            raw=b'Email,Name\na@b.example,A\nb@b.example,"B"x"\n',
        )


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("E-mail address", "email"),
        ("E-mail", "email"),
        ("Email Address", "email"),
        ("email_address", "email"),
        ("Organisation", "company"),
        ("Organization", "company"),
        ("Company name", "company"),
        ("Full name", "full_name"),
        ("Name", "full_name"),
        ("First Name", "first_name"),
        ("Original Source", "campaign"),
    ],
)
def test_it_maps_common_header_names_by_themselves(header, field):
    assert guess_mapping(["Something else", header]) == {field: header}

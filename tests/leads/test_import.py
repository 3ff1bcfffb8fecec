"""CSV import: the HubSpot sample keeps its 293 good rows and reports the 7 bad ones."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.urls import reverse

from crm.errors import DomainError
from leads.models import ImportJob, Lead
from leads.services.imports import (
    guess_mapping,
    import_error_report,
    import_run,
    import_start,
    import_upload,
)
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db

# A HubSpot-style export with seven bad rows (see tests/data/README.md).
SAMPLE_BYTES = (Path(__file__).parent.parent / "data" / "leads_hubspot_style.csv").read_bytes()


def _run(job: ImportJob, actor, chunk_size: int = 25) -> ImportJob:
    import_start(job=job, actor=actor, mapping=job.mapping)
    return import_run(job_id=job.pk, chunk_size=chunk_size)


def test_it_imports_the_hubspot_sample_and_reports_the_seven_bad_rows(marketer):
    webinar = CampaignFactory(name="Webinar: Pipeline Hygiene 2026")
    job = import_upload(actor=marketer, filename="hubspot.csv", raw=SAMPLE_BYTES)
    assert job.total_rows == 300
    assert job.mapping["email"] == "Email" and job.mapping["campaign"] == "Original Source"

    job = _run(job, marketer)

    assert job.status == ImportJob.Status.DONE
    assert (job.imported_count, job.error_count, job.processed_rows) == (293, 7, 300)
    assert Lead.objects.count() == 293
    reported = {e["row"]: e["field"] for e in job.errors}
    assert reported == {
        12: "email",
        27: "email",
        43: "email",
        62: "created_date",
        77: "company",
        92: "first_name",
        122: "lifecycle_stage",
    }
    assert "already exists" in next(e["message"] for e in job.errors if e["row"] == 43)
    assert Lead.objects.filter(campaign=webinar).count() == 54  # 56 rows; rows 27 and 92 refused
    assert set(Lead.objects.values_list("stage", flat=True)) == {"engaged"}
    assert set(Lead.objects.values_list("source", flat=True)) == {"csv_import"}


def test_it_writes_an_error_report_that_spreadsheets_cannot_execute(marketer):
    raw = (
        b"Email,First Name,Phone Number\n"
        b"ok@example.com,Ann,+44 20 7000 0000\n"
        b'bad,=HYPERLINK("x"),+44 20 7000 0001\n'
    )
    job = _run(import_upload(actor=marketer, filename="x.csv", raw=raw), marketer)
    rows = list(csv.reader(io.StringIO(import_error_report(job).removeprefix("\ufeff"))))
    assert rows[0] == ["line", "field", "error", "Email", "First Name", "Phone Number"]
    assert rows[1][0] == "3" and rows[1][1] == "email"
    assert rows[1][4] == '\'=HYPERLINK("x")'
    assert rows[1][5] == "+44 20 7000 0001"


def test_it_resumes_from_the_last_committed_chunk_without_importing_twice(marketer):
    job = import_upload(actor=marketer, filename="hubspot.csv", raw=SAMPLE_BYTES)
    import_start(job=job, actor=marketer, mapping=job.mapping)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    # A first worker committed 50 rows and died; the redelivered task continues from there.
    first = import_run(job_id=job.pk, chunk_size=50)
    assert first.imported_count == 293
    again = import_run(job_id=job.pk)
    assert again.imported_count == 293 and Lead.objects.count() == 293


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty"),
        (b"Email\n", "no rows"),
        (b"\xff\xfe\x00garbage", "UTF-8"),
    ],
)
def test_it_refuses_an_unusable_file(marketer, raw, message):
    with pytest.raises(DomainError, match=message):
        import_upload(actor=marketer, filename="x.csv", raw=raw)
    assert not ImportJob.objects.exists()


def test_it_refuses_an_import_by_a_sales_rep(sales_rep):
    with pytest.raises(DomainError, match="Only marketing"):
        import_upload(actor=sales_rep, filename="x.csv", raw=b"Email\na@b.co\n")


def test_it_requires_an_email_column_in_the_mapping(marketer):
    job = import_upload(actor=marketer, filename="x.csv", raw=b"Mail,Name\na@b.co,A\n")
    assert "email" not in job.mapping
    with pytest.raises(DomainError, match="email address"):
        import_start(job=job, actor=marketer, mapping={"first_name": "Name"})
    with pytest.raises(DomainError, match="no column"):
        import_start(job=job, actor=marketer, mapping={"email": "Nope"})


def test_it_guesses_hubspot_columns():
    assert guess_mapping(["First Name", "Email", "Lifecycle Stage"]) == {
        "first_name": "First Name",
        "email": "Email",
        "lifecycle_stage": "Lifecycle Stage",
    }


def test_it_fails_the_job_when_the_uploader_may_no_longer_import(marketer):
    job = import_upload(actor=marketer, filename="x.csv", raw=b"Email\na@b.co\n")
    import_start(job=job, actor=marketer, mapping=job.mapping)
    marketer.is_active = False
    marketer.save(update_fields=["is_active"])
    job = import_run(job_id=job.pk)
    assert job.status == ImportJob.Status.FAILED and "may no longer" in job.failure
    assert not Lead.objects.exists()


def test_the_task_runs_the_import(marketer):
    from leads.tasks import import_csv

    job = import_upload(actor=marketer, filename="x.csv", raw=b"Email\na@b.co\nnope\n")
    import_start(job=job, actor=marketer, mapping=job.mapping)
    import_csv.apply(args=[job.pk])  # the task body, in this process
    job.refresh_from_db()
    assert (job.status, job.imported_count, job.error_count) == ("done", 1, 1)


def test_it_defuses_the_header_row_of_the_error_report(marketer):
    raw = b'Email,"=HYPERLINK(""http://evil.example"")",+cmd|calc!A0,@SUM(A1)\nbad,a,b,c\n'
    job = _run(import_upload(actor=marketer, filename="x.csv", raw=raw), marketer)
    rows = list(csv.reader(io.StringIO(import_error_report(job).removeprefix("\ufeff"))))
    assert rows[0][3:] == [
        "Email",
        '\'=HYPERLINK("http://evil.example")',
        "'+cmd|calc!A0",
        "'@SUM(A1)",
    ]


def test_it_downloads_the_error_report_as_utf8_with_a_byte_order_mark(client, marketer):
    job = _run(import_upload(actor=marketer, filename="x.csv", raw=b"Email\nbad\n"), marketer)
    client.force_login(marketer)
    response = client.get(reverse("leads:import_errors", args=[job.pk]))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbfline,field,error,Email")

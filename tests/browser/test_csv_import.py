"""CSV import in the browser with a real Celery worker: progress bar, good rows, error report."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from playwright.sync_api import expect

from crm.celery import app as celery_app
from leads.models import ImportJob, Lead

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

ROWS = 60
BAD_ROW = 31  # header is row 1


def _csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["First Name", "Last Name", "Email", "Company Name", "Lifecycle Stage"])
    for n in range(2, ROWS + 2):
        email = "not-an-email" if n == BAD_ROW else f"person{n}@import.example"
        writer.writerow([f"Person{n}", "Import", email, "Acme", "lead"])
    return out.getvalue().encode()


@pytest.fixture
def celery_worker() -> Iterator[None]:
    """A real worker in this process, on the configured broker (filesystem, or Redis in CI)."""
    celery_app.loader.import_default_modules()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield


def test_import_shows_progress_keeps_good_rows_and_offers_the_error_report(
    page, live_server, sign_in, screenshot, marketer, celery_worker
):
    sign_in(marketer)
    page.get_by_role("main").get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "leads.csv", "mimeType": "text/csv", "buffer": _csv()}]
    )
    page.get_by_role("button", name="Upload and map columns").click()
    expect(page.get_by_label("Email")).to_have_value("Email")
    expect(page.get_by_label("First name")).to_have_value("First Name")
    screenshot("import-mapping")
    page.get_by_role("button", name="Start import").click()

    expect(page.locator("progress#import-bar")).to_be_visible()
    expect(page.locator("#import-progress")).to_have_attribute(
        "data-status", "done", timeout=30_000
    )
    expect(page.locator("#imported-count")).to_have_text(str(ROWS - 1))
    expect(page.locator("#error-count")).to_have_text("1")
    expect(page.locator("progress#import-bar")).to_have_attribute("value", str(ROWS))
    screenshot("import-done")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download error report (CSV)").click()
    report = list(
        csv.reader(io.StringIO(download_info.value.path().read_text(encoding="utf-8-sig")))
    )
    assert report[0][:3] == ["line", "field", "error"]
    assert [(r[0], r[1]) for r in report[1:]] == [(str(BAD_ROW), "email")]

    assert Lead.objects.count() == ROWS - 1
    job = ImportJob.objects.get()
    assert (job.status, job.imported_count, job.error_count) == ("done", ROWS - 1, 1)

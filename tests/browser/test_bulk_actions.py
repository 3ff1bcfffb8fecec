"""Bulk actions in the browser: reassigning three ticked leads, exporting a filtered list."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from crm.csv_files import BYTE_ORDER_MARK
from leads.models import Lead
from leads.services.transitions import lead_hand_off
from tests.conftest import ALL_REQUIRED_CRITERIA

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_a_manager_reassigns_three_ticked_leads(
    page,
    live_server,
    sign_in,
    screenshot,
    dialogs,
    manager,
    marketer,
    sales_rep,
    other_sales_rep,
    make_lead,
):
    leads = [
        lead_hand_off(
            lead=make_lead(first_name=name, last_name="Bulk"),
            actor=marketer,
            assignee=sales_rep,
            criteria=ALL_REQUIRED_CRITERIA,
        )
        for name in ("Ann", "Ben", "Cat")
    ]
    make_lead(first_name="Untouched", last_name="Engaged")
    sign_in(manager)
    page.goto(f"{live_server.url}/leads/?stage=qualified")
    expect(page.locator("#lead-table tbody tr")).to_have_count(3)
    page.get_by_label("Tick all leads on this page").check()
    expect(page.locator("#bulk-count")).to_have_text("3 leads ticked.")
    page.get_by_label("Reassign to").select_option(str(other_sales_rep.pk))
    page.locator("#bulk-reason").fill("Sam is on leave this week")
    screenshot("lead-list-bulk")
    page.set_viewport_size({"width": 820, "height": 1180})
    screenshot("lead-list-bulk-tablet")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_role("button", name="Reassign", exact=True).click()
    expect(page.locator("#messages")).to_contain_text("3 leads reassigned")
    assert page.url.endswith("/leads/?stage=qualified")
    for lead in leads:
        assert Lead.objects.get(pk=lead.pk).owner == other_sales_rep
    assert dialogs == []


def test_a_filtered_list_exports_as_a_spreadsheet_reads_it(
    page, live_server, sign_in, manager, make_lead
):
    make_lead(first_name="Zoë", last_name="Ångström", company='=HYPERLINK("http://x")')
    make_lead(first_name="Léa", last_name="Ångström", company="Société Générale")
    make_lead(first_name="Other", last_name="Person", company="Elsewhere")
    sign_in(manager)
    page.goto(f"{live_server.url}/leads/")
    page.get_by_label("Search").fill("Ångström")
    page.get_by_label("Search").press("Enter")
    expect(page.locator("#lead-table tbody tr")).to_have_count(2)
    with page.expect_download() as download:
        page.locator("#export-all").click()
    raw = download.value.path().read_bytes().decode("utf-8")
    assert raw.startswith(BYTE_ORDER_MARK)
    header, *rows = list(csv.reader(io.StringIO(raw.removeprefix(BYTE_ORDER_MARK))))
    assert header[0] == "Name"
    by_name = {row[0]: row for row in rows}
    assert set(by_name) == {"Zoë Ångström", "Léa Ångström"}
    assert by_name["Léa Ångström"][2] == "Société Générale"
    assert by_name["Zoë Ångström"][2] == '\'=HYPERLINK("http://x")'

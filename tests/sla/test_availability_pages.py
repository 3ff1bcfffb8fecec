"""The availability page: reps record their own absences, managers anyone's and set hours and
capacity; a hand-off made during an absence goes elsewhere and the lead page says why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.models import Role
from sla.availability import absence_add
from sla.models import Absence, RepAvailability
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import BusinessCalendarFactory, SlaPolicyFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _absence(rep_id: int, first: str = "2026-03-02", last: str = "2026-03-04", **more: str):
    return {"rep": str(rep_id), "first_day": first, "last_day": last, **more}


def test_a_rep_records_their_own_absence(client, sales_rep, other_sales_rep):
    client.force_login(sales_rep)
    with time_machine.travel(NOW, tick=False):
        response = client.post(
            reverse("sla:availability"), _absence(sales_rep.pk, note="Skiing"), follow=True
        )
        page = response.content.decode()
    assert "is out of office from 2 Mar to 4 Mar 2026" in page
    absence = Absence.objects.get(user=sales_rep)
    assert (absence.starts_at, absence.ends_at) == (
        NOW.replace(hour=0),
        datetime(2026, 3, 5, tzinfo=UTC),
    )
    assert f'id="rep-{sales_rep.pk}" data-away="yes"' in page
    assert f'id="rep-{other_sales_rep.pk}" data-away="no"' in page
    assert 'name="capacity"' not in page  # hours and capacity are a manager's


def test_a_rep_cannot_record_someone_elses_absence_and_the_form_keeps_the_input(
    client, sales_rep, other_sales_rep
):
    client.force_login(sales_rep)
    with time_machine.travel(NOW, tick=False):
        response = client.post(
            reverse("sla:availability"), _absence(other_sales_rep.pk, note="Olga's holiday")
        )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Sales reps set their own absences" in page
    assert 'value="Olga&#x27;s holiday"' in page
    assert not Absence.objects.exists()


def test_a_bad_date_is_refused_on_its_field(client, sales_rep):
    client.force_login(sales_rep)
    with time_machine.travel(NOW, tick=False):
        response = client.post(
            reverse("sla:availability"),
            _absence(sales_rep.pk, first="2026-03-05", last="2026-03-04"),
        )
    assert response.status_code == 400
    assert 'id="id_last_day_error"' in response.content.decode()


def test_a_manager_sets_hours_capacity_and_cancels_an_absence(client, manager, sales_rep):
    calendar = BusinessCalendarFactory(actor=manager, name="New York", timezone="America/New_York")
    client.force_login(manager)
    client.post(
        reverse("sla:availability_settings", args=[sales_rep.pk]),
        {"calendar": str(calendar.pk), "capacity": "5"},
    )
    saved = RepAvailability.objects.get(user=sales_rep)
    assert (saved.calendar, saved.capacity, saved.updated_by) == (calendar, 5, manager)
    with time_machine.travel(NOW, tick=False):
        client.post(reverse("sla:availability"), _absence(sales_rep.pk))
        absence = Absence.objects.get()
        # Whole days in the rep's own zone: midnight in New York is 05:00 UTC.
        assert absence.starts_at == datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
        client.post(reverse("sla:absence_cancel", args=[absence.pk]))
    absence.refresh_from_db()
    assert absence.cancelled_by == manager


def test_a_rep_cannot_set_capacity(client, sales_rep):
    client.force_login(sales_rep)
    response = client.post(
        reverse("sla:availability_settings", args=[sales_rep.pk]), {"capacity": "50"}
    )
    assert response.status_code == 403


def test_the_page_reads_the_same_queries_for_any_number_of_reps(client, manager):
    client.force_login(manager)

    def queries() -> int:
        rep = UserFactory(role=Role.SALES_REP)
        absence_add(actor=manager, rep=rep, first_day="2026-03-03", last_day="2026-03-04", now=NOW)
        with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("sla:availability")).status_code == 200
        return len(ctx.captured_queries)

    assert queries() == queries() == queries()


def test_a_hand_off_during_an_absence_goes_elsewhere_and_the_lead_page_says_why(
    client, make_lead, marketer, manager, sales_rep, other_sales_rep
):
    SlaPolicyFactory(actor=manager, now=NOW)
    absence_add(
        actor=sales_rep, rep=sales_rep, first_day="2026-03-02", last_day="2026-03-06",
        now=NOW - timedelta(days=1),
    )  # fmt: skip
    lead = make_lead(now=NOW - timedelta(hours=1))
    client.force_login(marketer)
    with time_machine.travel(NOW, tick=False):
        form = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
        assert f"Next rep in rotation: {other_sales_rep.display_name}" in form
        client.post(
            reverse("leads:action", args=[lead.pk, "hand_off"]),
            {"version": lead.version, "assignee": "", "criteria": ALL_REQUIRED_CRITERIA},
        )
        page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    lead.refresh_from_db()
    assert lead.owner == other_sales_rep
    assert (
        f"Round robin chose {other_sales_rep.display_name}; skipped "
        f"{sales_rep.display_name}: out of office until 6 Mar." in page
    )

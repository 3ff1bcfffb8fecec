"""Working calendars edited on a page, refused with the services' messages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sla.models import BusinessCalendar

pytestmark = pytest.mark.django_db

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _form(**changes: str) -> dict[str, str]:
    data = {"name": "Sales hours", "timezone": "Europe/London", "holidays": "2026-12-25"}
    data.update({day: "09:00-12:30, 13:30-18:00" for day in WEEKDAYS[:5]})
    data.update(changes)
    return data


def test_a_manager_creates_and_edits_a_calendar(client, manager):
    client.force_login(manager)
    response = client.post(reverse("sla:calendar_new"), _form(), follow=True)
    assert "clocks already running keep their due time" in response.content.decode()
    calendar = BusinessCalendar.objects.get(name="Sales hours")
    assert calendar.weekly_hours["0"] == [["09:00", "12:30"], ["13:30", "18:00"]]
    assert "5" not in calendar.weekly_hours and calendar.holidays == ["2026-12-25"]
    client.post(reverse("sla:calendar_edit", args=[calendar.pk]), _form(saturday="10:00-14:00"))
    calendar.refresh_from_db()
    assert calendar.weekly_hours["5"] == [["10:00", "14:00"]]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "Unknown time zone"),
        ({"monday": "09:00-13:00, 12:00-18:00"}, "overlap"),
        ({day: "" for day in WEEKDAYS}, "Working hours:"),
        ({"tuesday": "nine to five"}, "Tuesday"),
        ({"holidays": "Christmas"}, "is not a YYYY-MM-DD date"),
    ],
)
def test_it_refuses_a_bad_calendar_with_its_message_and_saves_nothing(
    client, manager, changes, message
):
    client.force_login(manager)
    response = client.post(reverse("sla:calendar_new"), _form(**changes))
    errors = " ".join(e for field in response.context["form"].errors.values() for e in field)
    assert response.status_code == 200
    assert message in errors, errors
    assert message in response.content.decode()
    assert not BusinessCalendar.objects.exists()


def test_only_managers_edit_calendars(client, sales_rep):
    client.force_login(sales_rep)
    assert client.get(reverse("sla:calendar_new")).status_code == 403
    assert client.post(reverse("sla:calendar_new"), _form()).status_code == 403
    assert client.get(reverse("sla:calendars")).status_code == 200
    assert not BusinessCalendar.objects.exists()

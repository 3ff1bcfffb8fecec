"""A calendar's country (and subdivision) fills in its public holidays from the `holidays`
package, beside hand-entered closures, and beat keeps them two years ahead."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from crm.errors import DomainError
from sla.models import SlaClock
from sla.services import calendar_create, calendars_refresh_public_holidays
from tests.factories import SlaPolicyFactory, weekday_hours

pytestmark = pytest.mark.django_db

# Thursday 2 April 2026, 16:00 in London (BST): Good Friday and Easter Monday follow.
MAUNDY_THURSDAY_4PM = datetime(2026, 4, 2, 15, 0, tzinfo=UTC)


def office(manager, name: str, **region: str):
    return calendar_create(
        actor=manager,
        name=name,
        timezone_name="Europe/London",
        weekly_hours=weekday_hours(("09:00", "17:00")),
        holidays=["2026-04-08"],  # a closure entered by hand
        **region,
    )


def test_an_english_calendar_pushes_a_due_time_across_the_easter_bank_holidays(manager, hand_off):
    with time_machine.travel(MAUNDY_THURSDAY_4PM, tick=False):
        england = office(manager, "England", holiday_country="gb", holiday_subdivision="eng")
        SlaPolicyFactory(actor=manager, name="Accept in 4 business hours", calendar=england)
        lead = hand_off(at=MAUNDY_THURSDAY_4PM)
    clock = SlaClock.objects.get(lead=lead)
    # One hour on Thursday; Good Friday, the weekend and Easter Monday are closed; three
    # hours on Tuesday 7 April from 09:00 BST.
    assert clock.due_at == datetime(2026, 4, 7, 11, 0, tzinfo=UTC)
    assert (england.holiday_country, england.holiday_subdivision) == ("GB", "ENG")
    assert {"2026-04-03", "2026-04-06", "2028-12-25"} <= set(england.public_holidays)
    assert england.holidays == ["2026-04-08"]


def test_without_a_country_only_the_hand_entered_closures_count(manager, hand_off):
    with time_machine.travel(MAUNDY_THURSDAY_4PM, tick=False):
        plain = office(manager, "Plain")
        SlaPolicyFactory(actor=manager, name="Accept in 4 business hours", calendar=plain)
        lead = hand_off(at=MAUNDY_THURSDAY_4PM)
    assert SlaClock.objects.get(lead=lead).due_at == datetime(2026, 4, 3, 11, 0, tzinfo=UTC)
    assert plain.public_holidays == []


@pytest.mark.parametrize(
    ("region", "field"),
    [
        ({"holiday_country": "XX"}, "holiday_country"),
        ({"holiday_country": "GB", "holiday_subdivision": "ZZZ"}, "holiday_subdivision"),
        ({"holiday_subdivision": "ENG"}, "holiday_country"),
    ],
)
def test_it_refuses_an_unknown_region_naming_the_field(manager, region, field):
    with pytest.raises(DomainError) as refused:
        office(manager, "Nowhere", **region)
    assert refused.value.field == field


def test_beat_adds_the_next_year_when_the_year_turns(manager):
    with time_machine.travel(MAUNDY_THURSDAY_4PM, tick=False):
        england = office(manager, "England", holiday_country="GB", holiday_subdivision="ENG")
    assert max(england.public_holidays).startswith("2028-")
    assert calendars_refresh_public_holidays(now=MAUNDY_THURSDAY_4PM) == 0

    assert calendars_refresh_public_holidays(now=datetime(2027, 1, 2, tzinfo=UTC)) == 1
    england.refresh_from_db()
    assert "2029-12-25" in england.public_holidays


def test_the_api_takes_a_country_and_shows_its_holidays(manager):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(manager)
    response = client.post(
        "/api/v1/calendars/",
        {
            "name": "Berlin office",
            "timezone": "Europe/Berlin",
            "weekly_hours": {str(day): [["09:00", "17:00"]] for day in range(5)},
            "holiday_country": "DE",
            "holiday_subdivision": "BE",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["holiday_country"], body["holiday_subdivision"]) == ("DE", "BE")
    assert any(day.endswith("-03-08") for day in body["public_holidays"])  # Women's Day, Berlin
    refused = client.post(
        "/api/v1/calendars/",
        {
            "name": "Mars",
            "timezone": "UTC",
            "weekly_hours": {"0": [["09:00", "17:00"]]},
            "holiday_country": "XX",
        },
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["pointer"] == "/holiday_country"

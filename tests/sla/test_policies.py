"""Bad calendars and policies are refused with a message naming the problem."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm.errors import DomainError, ErrorCode
from leads.lifecycle import Stage
from sla.models import BusinessCalendar, SlaPolicy
from sla.services import (
    breach_acknowledge,
    calendar_create,
    calendar_update,
    commitment_create,
    policy_create,
    webhook_endpoint_create,
)

pytestmark = pytest.mark.django_db

POLICY = {
    "name": "Accept fast",
    "goal": "accept",
    "trigger_stage": Stage.QUALIFIED,
    "target": timedelta(hours=4),
    "accountable_team": "sales",
}


@pytest.mark.parametrize("target", [timedelta(0), timedelta(hours=-1), 0, -60])
def test_it_refuses_a_zero_or_negative_target(manager, target):
    with pytest.raises(DomainError) as refused:
        policy_create(actor=manager, fields={**POLICY, "target": target})
    assert refused.value.field == "target"
    assert "longer than zero" in refused.value.message
    assert not SlaPolicy.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("goal", "reply_fast", "Unknown goal"),
        ("trigger_stage", "limbo", "Unknown stage"),
        ("at_risk_fraction", "1.5", "below 1"),
        ("at_risk_fraction", "0", "greater than 0"),
        ("accountable_team", "finance", "Unknown team"),
    ],
)
def test_it_refuses_other_bad_policy_fields(manager, field, value, message):
    with pytest.raises(DomainError) as refused:
        policy_create(actor=manager, fields={**POLICY, field: value})
    assert refused.value.field == field
    assert message in refused.value.message


@pytest.mark.parametrize("zone", ["Mars/Olympus", "localtime", "Factory", "posixrules"])
def test_it_refuses_a_zone_that_is_no_place(manager, zone):
    """`localtime` is whichever zone the server runs in: a calendar would move with the host."""
    with pytest.raises(DomainError) as refused:
        calendar_create(
            actor=manager,
            name="Mars",
            timezone_name=zone,
            weekly_hours={"0": [["9:00", "17:00"]]},
        )
    assert refused.value.field == "timezone"
    assert zone in refused.value.message
    assert not BusinessCalendar.objects.exists()


def test_it_refuses_a_commitment_in_the_servers_local_zone(manager):
    with pytest.raises(DomainError) as refused:
        commitment_create(
            actor=manager,
            name="c",
            period="month",
            target_qualified=10,
            starts_on="2026-01-01",
            timezone_name="localtime",
        )
    assert refused.value.field == "timezone"


def test_it_refuses_overlapping_working_intervals(manager):
    with pytest.raises(DomainError) as refused:
        calendar_create(
            actor=manager,
            name="Overlap",
            timezone_name="Europe/Paris",
            weekly_hours={"0": [["09:00", "13:00"], ["12:00", "17:00"]]},
        )
    assert refused.value.field == "weekly_hours"
    assert "Monday" in refused.value.message and "overlaps" in refused.value.message


def test_it_refuses_a_calendar_without_working_hours(manager):
    with pytest.raises(DomainError) as refused:
        calendar_create(actor=manager, name="Never", timezone_name="UTC", weekly_hours={})
    assert "no working hours" in refused.value.message


@pytest.mark.parametrize(
    "weekly",
    [
        {"0": [["17:00", "09:00"]]},
        {"8": [["09:00", "17:00"]]},
        {"0": [["nine", "five"]]},
        {"0": "09:00-17:00"},
        ["09:00", "17:00"],
    ],
)
def test_it_refuses_malformed_hours(manager, weekly):
    with pytest.raises(DomainError) as refused:
        calendar_create(actor=manager, name="Bad", timezone_name="UTC", weekly_hours=weekly)
    assert refused.value.field == "weekly_hours"


def test_it_accepts_several_intervals_a_day_and_midnight_ends(manager):
    calendar = calendar_create(
        actor=manager,
        name="Split shifts",
        timezone_name="America/New_York",
        weekly_hours={
            "monday": [["08:00", "12:00"], ["13:00", "24:00"]],
            "5": [["00:00", "00:00"]],
        },
        holidays=["2026-07-03"],
    )
    calendar.schedule().validate()
    assert calendar.weekly_hours == {
        "0": [["08:00", "12:00"], ["13:00", "24:00"]],
        "5": [["00:00", "24:00"]],
    }


def test_a_bad_calendar_edit_changes_nothing(manager):
    calendar = calendar_create(
        actor=manager, name="Ok", timezone_name="UTC", weekly_hours={"0": [["09:00", "17:00"]]}
    )
    with pytest.raises(DomainError):
        calendar_update(actor=manager, calendar=calendar, fields={"timezone": "Nowhere/City"})
    calendar.refresh_from_db()
    assert calendar.timezone == "UTC"


@pytest.mark.parametrize("persona", ["marketer", "sales_rep"])
def test_only_managers_edit_policies_and_calendars(request, persona):
    actor = request.getfixturevalue(persona)
    with pytest.raises(DomainError) as refused:
        policy_create(actor=actor, fields=POLICY)
    assert refused.value.code == ErrorCode.FORBIDDEN
    with pytest.raises(DomainError) as refused:
        calendar_create(actor=actor, name="x", timezone_name="UTC", weekly_hours={})
    assert refused.value.code == ErrorCode.FORBIDDEN


def test_only_managers_acknowledge_breaches(sales_rep):
    with pytest.raises(DomainError) as refused:
        breach_acknowledge(breach=1, actor=sales_rep, note="seen")
    assert refused.value.code == ErrorCode.FORBIDDEN


def test_it_refuses_bad_commitments_and_webhooks(manager):
    with pytest.raises(DomainError) as refused:
        commitment_create(
            actor=manager, name="c", period="month", target_qualified=0, starts_on="2026-01-01"
        )
    assert refused.value.field == "target_qualified"
    with pytest.raises(DomainError) as refused:
        webhook_endpoint_create(actor=manager, name="w", url="ftp://x", secret="s")
    assert refused.value.field == "url"
    with pytest.raises(DomainError) as refused:
        webhook_endpoint_create(actor=manager, name="w", url="https://x.example/h")
    assert refused.value.field == "secret"


def test_names_are_required_unique_and_bounded(manager):
    policy_create(actor=manager, fields=POLICY)
    with pytest.raises(DomainError) as refused:
        policy_create(actor=manager, fields=POLICY)
    assert (refused.value.code, refused.value.field) == (ErrorCode.DUPLICATE, "name")
    with pytest.raises(DomainError) as refused:
        policy_create(actor=manager, fields={**POLICY, "name": "x" * 500})
    assert "too long" in refused.value.message
    with pytest.raises(DomainError) as refused:
        commitment_create(
            actor=manager, name=" ", period="week", target_qualified=5, starts_on="2026-01-05"
        )
    assert refused.value.field == "name"
    with pytest.raises(DomainError) as refused:
        commitment_create(
            actor=manager, name="c", period="week", target_qualified=5, starts_on="soon"
        )
    assert refused.value.field == "starts_on"
    with pytest.raises(DomainError) as refused:
        webhook_endpoint_create(
            actor=manager, name="w", url="https://x.example/" + "a" * 600, secret="s"
        )
    assert refused.value.field == "url"

"""SLA policies edited on a page: the services' validation, and edits reach new clocks only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from sla.models import SlaPolicy
from tests.sla.conftest import MONDAY_10AM

pytestmark = pytest.mark.django_db


def _form(policy: SlaPolicy, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "updated_at": policy.updated_at.isoformat(),
        "name": policy.name,
        "accountable_team": policy.accountable_team,
        "trigger_stage": policy.trigger_stage,
        "goal": policy.goal,
        "target_hours": policy.target.total_seconds() / 3600,
        "at_risk_percent": (policy.at_risk_fraction * 100).normalize(),
        "calendar": policy.calendar_id or "",
        "notify_owner": "on",
        "active": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_an_edit_reaches_new_clocks_and_leaves_running_ones(
    client, manager, accept_policy, hand_off
):
    running = hand_off().clocks.get()
    client.force_login(manager)
    response = client.post(
        reverse("sla:policy_edit", args=[accept_policy.pk]),
        _form(accept_policy, target_hours="8"),
        follow=True,
    )
    assert "clocks already running keep their due time" in response.content.decode()
    accept_policy.refresh_from_db()
    assert accept_policy.target == timedelta(hours=8)
    kept = type(running).objects.get(pk=running.pk)
    assert kept.due_at == running.due_at
    fresh = hand_off(at=MONDAY_10AM + timedelta(days=7)).clocks.get()
    assert fresh.due_at - fresh.started_at > running.due_at - running.started_at


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"target_hours": "0"}, "target_hours", "target must be longer than zero"),
        ({"target_hours": "-3"}, "target_hours", "target must be longer than zero"),
        ({"target_hours": "9000"}, "target_hours", "target must be at most 366 days"),
        ({"at_risk_percent": "100"}, "at_risk_percent", "at_risk_fraction must be greater"),
        ({"at_risk_percent": "0"}, "at_risk_percent", "at_risk_fraction must be greater"),
        ({"met_by_update": "on"}, "met_by_update", "Only an exit_stage policy"),
        ({"name": "Taken"}, "name", "Taken"),
    ],
)
def test_it_refuses_bad_policy_input_with_the_services_message(
    client, manager, accept_policy, changes, field, message
):
    SlaPolicy.objects.create(
        name="Taken", goal="accept", trigger_stage="qualified", target=timedelta(hours=1),
        accountable_team="sales", created_at=MONDAY_10AM, updated_at=MONDAY_10AM,
    )  # fmt: skip
    before = SlaPolicy.objects.values().get(pk=accept_policy.pk)
    client.force_login(manager)
    response = client.post(
        reverse("sla:policy_edit", args=[accept_policy.pk]), _form(accept_policy, **changes)
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert message in " ".join(errors.get(field, [])), errors
    assert SlaPolicy.objects.values().get(pk=accept_policy.pk) == before


def test_it_refuses_a_stale_policy_edit(client, manager, accept_policy):
    client.force_login(manager)
    url = reverse("sla:policy_edit", args=[accept_policy.pk])
    first = _form(accept_policy, target_hours="6")
    second = _form(accept_policy, target_hours="2")
    client.post(url, first)
    response = client.post(url, second)
    assert "Someone changed this policy" in response.content.decode()
    accept_policy.refresh_from_db()
    assert accept_policy.target == timedelta(hours=6)


def test_a_manager_creates_a_policy_from_the_page(client, manager, sales_calendar):
    client.force_login(manager)
    response = client.post(
        reverse("sla:policy_new"),
        {
            "name": "Touch within a day",
            "accountable_team": "sales",
            "trigger_stage": "qualified",
            "goal": "first_touch",
            "target_hours": "8",
            "at_risk_percent": "50",
            "calendar": sales_calendar.pk,
            "notify_owner": "on",
            "active": "on",
        },
    )
    assert response.status_code == 302
    policy = SlaPolicy.objects.get(name="Touch within a day")
    assert (policy.target, policy.at_risk_fraction, policy.calendar) == (
        timedelta(hours=8),
        pytest.approx(0.5),
        sales_calendar,
    )


@pytest.mark.parametrize("who", ["marketer", "sales_rep"])
def test_only_managers_edit_policies(client, request, who, accept_policy):
    client.force_login(request.getfixturevalue(who))
    url = reverse("sla:policy_edit", args=[accept_policy.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, _form(accept_policy, target_hours="1")).status_code == 403
    assert SlaPolicy.objects.get(pk=accept_policy.pk).target == accept_policy.target

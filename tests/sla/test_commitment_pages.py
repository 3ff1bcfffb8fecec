"""Marketing commitments written on a page, refused with the services' messages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sla.models import Commitment

pytestmark = pytest.mark.django_db


def _form(**changes: str) -> dict[str, str]:
    data = {
        "name": "120 SQLs a month",
        "period": "month",
        "target_qualified": "120",
        "min_acceptance_percent": "80",
        "timezone": "Europe/London",
        "starts_on": "2026-03-01",
    }
    data.update(changes)
    return data


def test_a_manager_writes_a_commitment(client, manager):
    client.force_login(manager)
    response = client.post(reverse("sla:commitment_new"), _form())
    assert response.status_code == 302
    commitment = Commitment.objects.get()
    assert (commitment.target_qualified, float(commitment.min_acceptance_rate)) == (120, 0.8)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"target_qualified": "0"}, "target_qualified", "whole number above zero"),
        ({"target_qualified": "-5"}, "target_qualified", "whole number above zero"),
        ({"timezone": "Atlantis/Capital"}, "timezone", "Unknown time zone"),
        ({"min_acceptance_percent": "150"}, "min_acceptance_percent", "min_acceptance_rate"),
        ({"min_acceptance_percent": "0"}, "min_acceptance_percent", "min_acceptance_rate"),
    ],
)
def test_it_refuses_a_bad_commitment_and_saves_nothing(client, manager, changes, field, message):
    client.force_login(manager)
    response = client.post(reverse("sla:commitment_new"), _form(**changes))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors.get(field, []))
    assert not Commitment.objects.exists()


def test_only_managers_write_commitments(client, marketer):
    client.force_login(marketer)
    assert client.post(reverse("sla:commitment_new"), _form()).status_code == 403
    assert not Commitment.objects.exists()


@pytest.fixture
def commitment(monthly_commitment):
    return monthly_commitment


def _edit(commitment, **changes: str) -> dict[str, str]:
    return _form(version=str(commitment.version), active="on", **changes)


def _saved(commitment) -> tuple:
    commitment.refresh_from_db()
    return (
        commitment.name,
        commitment.period,
        commitment.target_qualified,
        commitment.min_acceptance_rate,
        commitment.timezone,
        commitment.starts_on,
        commitment.active,
        commitment.version,
        commitment.events.count(),
    )


def test_a_manager_edits_a_commitment_and_the_change_is_in_its_history(
    client, manager, commitment, django_assert_max_num_queries
):
    client.force_login(manager)
    url = reverse("sla:commitment_edit", args=[commitment.pk])
    with django_assert_max_num_queries(8):
        page = client.get(url)
    assert page.context["form"]["target_qualified"].value() == 120
    assert page.context["form"]["min_acceptance_percent"].value() == "80"
    assert 'name="starts_on" value="2026-03-01"' in page.content.decode()
    assert "periods already closed keep their results" in page.content.decode()

    response = client.post(url, _edit(commitment, target_qualified="150", period="week"))
    assert response.status_code == 302
    commitment.refresh_from_db()
    assert (commitment.target_qualified, commitment.period, commitment.version) == (150, "week", 2)
    event = commitment.events.first()
    assert (event.kind, event.actor, event.changes) == (
        "updated",
        manager,
        {"target_qualified": ["120", "150"], "period": ["month", "week"]},
    )
    history = client.get(url).content.decode()
    assert "Qualified leads handed over, at least 120 → 150" in history
    assert "Edited by" in history


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"target_qualified": "0"}, "target_qualified", "whole number above zero"),
        ({"target_qualified": "-5"}, "target_qualified", "whole number above zero"),
        ({"target_qualified": "9999999999"}, "target_qualified", "at most"),
        ({"timezone": "Atlantis/Capital"}, "timezone", "Unknown time zone"),
        ({"min_acceptance_percent": "150"}, "min_acceptance_percent", "min_acceptance_rate"),
        ({"min_acceptance_percent": "0"}, "min_acceptance_percent", "min_acceptance_rate"),
        ({"period": "fortnight"}, "period", "valid choice"),
        ({"name": "  "}, "name", "required"),
        ({"name": "Taken"}, "name", "already taken"),
        ({"starts_on": "2026-02-30"}, "starts_on", "valid date"),
    ],
)
def test_it_refuses_a_bad_edit_and_saves_nothing(
    client, manager, commitment, changes, field, message
):
    from datetime import date

    from sla import services

    services.commitment_create(
        actor=manager, name="Taken", period="week", target_qualified=5, starts_on=date(2026, 3, 2)
    )
    before = _saved(commitment)
    client.force_login(manager)
    response = client.post(
        reverse("sla:commitment_edit", args=[commitment.pk]), _edit(commitment, **changes)
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors.get(field, []))
    assert _saved(commitment) == before
    # What was typed stays in the form.
    typed = next(iter(changes.values()))
    assert response.context["form"][field].value() == typed


def test_a_stale_edit_is_refused_above_the_form(client, manager, commitment):
    from sla import services

    client.force_login(manager)
    opened = commitment.version
    services.commitment_update(
        actor=manager, commitment=commitment, fields={"target_qualified": 90}
    )
    before = _saved(commitment)
    response = client.post(
        reverse("sla:commitment_edit", args=[commitment.pk]),
        _form(version=str(opened), active="on", target_qualified="200"),
    )
    assert response.status_code == 200
    assert "Someone changed this commitment" in " ".join(
        response.context["form"].non_field_errors()
    )
    assert _saved(commitment) == before


def test_only_managers_edit_commitments(client, marketer, commitment):
    before = _saved(commitment)
    client.force_login(marketer)
    url = reverse("sla:commitment_edit", args=[commitment.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, _edit(commitment, target_qualified="1")).status_code == 403
    assert _saved(commitment) == before


def test_an_edit_that_changes_nothing_records_nothing(manager, commitment):
    from sla import services

    before = _saved(commitment)
    services.commitment_update(
        actor=manager,
        commitment=commitment,
        fields={"target_qualified": 120, "name": "120 SQLs a month"},
    )
    assert _saved(commitment) == before


def test_the_service_refuses_a_field_it_does_not_edit(manager, commitment):
    from crm.errors import DomainError
    from sla import services

    with pytest.raises(DomainError) as refused:
        services.commitment_update(actor=manager, commitment=commitment, fields={"team": "sales"})
    assert refused.value.field == "team"

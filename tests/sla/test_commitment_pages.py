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

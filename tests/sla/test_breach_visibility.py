"""Breach visibility, decided once in crm.rights: everyone signed in reads breaches and
compliance (pages, CSV and API alike), a rep's report opens on their own breaches, and only
managers acknowledge."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from crm.errors import DomainError
from crm.outbox import outbox_drain
from sla.models import Breach
from sla.services import breach_acknowledge
from sla.sweep import sla_sweep
from tests.sla.conftest import MONDAY_10AM

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _three_days_after_monday() -> Iterator[None]:
    with time_machine.travel(MONDAY_10AM + timedelta(days=3), tick=False):
        yield


@pytest.fixture
def two_reps_breaches(hand_off, accept_policy, other_sales_rep) -> tuple[Breach, Breach]:
    """One breach of `sales_rep` and one of `other_sales_rep`."""
    hand_off(at=MONDAY_10AM)
    hand_off(at=MONDAY_10AM + timedelta(minutes=1))
    sla_sweep(now=MONDAY_10AM + timedelta(days=2))
    outbox_drain(now=MONDAY_10AM + timedelta(days=2))
    mine, theirs = Breach.objects.order_by("id")
    Breach.objects.filter(pk=theirs.pk).update(owner=other_sales_rep)
    return mine, theirs


def shown(response) -> set[int]:
    return {breach.pk for breach in response.context["page"].breaches}


def exported(response) -> set[int]:
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    return {int(row[0]) for row in rows[1:]}


def test_a_rep_reads_their_own_breaches_by_default_and_everyones_on_request(
    client, two_reps_breaches, sales_rep
):
    mine, theirs = two_reps_breaches
    client.force_login(sales_rep)

    default = client.get(reverse("sla:breaches"))
    everyone = client.get(reverse("sla:breaches"), {"owner": ""})

    assert default.status_code == 200
    assert shown(default) == {mine.pk}
    assert default.context["form"]["owner"].value() == str(sales_rep.pk)
    assert shown(everyone) == {mine.pk, theirs.pk}
    assert exported(client.get(reverse("sla:breaches_csv"))) == {mine.pk}
    assert exported(client.get(reverse("sla:breaches_csv"), {"owner": ""})) == {mine.pk, theirs.pk}


def test_marketers_and_managers_read_everyones_breaches_by_default(
    client, two_reps_breaches, marketer, manager
):
    for person in (marketer, manager):
        client.force_login(person)
        assert shown(client.get(reverse("sla:breaches"))) == {b.pk for b in two_reps_breaches}


def test_the_header_links_the_breach_report_for_everyone(client, two_reps_breaches, marketer):
    client.force_login(marketer)

    page = client.get(reverse("sla:notifications")).content.decode()

    assert f'href="{reverse("sla:breaches")}"' in page


def test_only_managers_acknowledge_on_the_page_the_api_and_the_service(
    client, two_reps_breaches, sales_rep, marketer, manager
):
    mine, _ = two_reps_breaches
    for person in (sales_rep, marketer):
        client.force_login(person)
        page = client.get(reverse("sla:breaches"), {"owner": ""}).content.decode()
        assert 'class="ack"' not in page and "awaiting acknowledgement" in page
        posted = client.post(reverse("sla:acknowledge", args=[mine.pk]), {"note": "Mine."})
        assert posted.status_code == 403
        api = APIClient()
        api.force_login(person)
        answer = api.post(
            f"/api/v1/breaches/{mine.pk}/acknowledge/", {"note": "Mine."}, format="json"
        )
        assert answer.status_code == 403
        with pytest.raises(DomainError):
            breach_acknowledge(breach=mine, actor=person, note="Mine.")
    mine.refresh_from_db()
    assert mine.acknowledged_at is None
    client.force_login(manager)
    assert 'class="ack"' in client.get(reverse("sla:breaches")).content.decode()


def test_every_signed_in_person_reads_breaches_and_compliance_over_the_api(
    two_reps_breaches, sales_rep, marketer
):
    for person in (sales_rep, marketer):
        api = APIClient()
        api.force_login(person)
        assert len(api.get("/api/v1/breaches/").json()["results"]) == 2
        assert api.get("/api/v1/breaches/export/").status_code == 200
        assert api.get("/api/v1/metrics/sla-compliance/?group_by=rep").status_code == 200

"""Erasing a person leaves their email and name in no table at all: not the lead, its
history and activities, nor the copies kept by idempotency records, the outbox, in-app
notifications, webhook logs or uploaded CSV files; reports keep their numbers."""

from __future__ import annotations

import socket
import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from crm.keys import api_key_create
from crm.models import ApiScope, Notification, OutboxChannel, OutboxMessage
from crm.outbox import Delivery, outbox_drain, outbox_write
from leads.models import Lead
from leads.selectors import pipeline_by_stage
from leads.services.activities import activity_log
from leads.services.imports import import_run, import_start, import_upload
from leads.services.privacy import person_erase, person_export
from sla.models import WebhookDelivery
from sla.services import webhook_endpoint_create
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.reliability.conftest import tables_mentioning

pytestmark = pytest.mark.django_db

EMAIL = "Zebedee.Quixotwhistle@Example.org"
PERSON = ("Zebedee", "Quixotwhistle", EMAIL.lower(), "+44 7700 900 451")
BYSTANDER = "bystander.person@example.org"


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/hook"


@pytest.fixture
def person_everywhere(marketer, manager, sales_rep) -> Lead:
    csv = (
        "Email,First Name,Last Name,Phone Number\n"
        f"{EMAIL},Zebedee,Quixotwhistle,+44 7700 900 451\n"
        f"{BYSTANDER},Bea,Stander,\n"
        f"zebedee.quixotwhistle+again@example.org,Zebedee,Quixotwhistle,\n"  # a duplicate row
    ).encode()
    job = import_upload(actor=marketer, filename="webinar.csv", raw=csv)
    import_start(job=job, actor=marketer, mapping=job.mapping)
    job = import_run(job_id=job.pk)
    assert job.imported_count == 2 and job.error_count == 1
    lead = Lead.objects.get(email=EMAIL)

    # The hand-off through the API with an Idempotency-Key: its stored answer is the lead.
    api = APIClient()
    raw_key = api_key_create(
        actor=None, name="Sync", scopes=[ApiScope.LEADS_READ, ApiScope.LEADS_WRITE], user=marketer
    ).raw_key
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    response = api.post(
        f"/api/v1/leads/{lead.pk}/transitions/",
        {"transition": "hand_off", "assignee": sales_rep.pk, "criteria": ALL_REQUIRED_CRITERIA},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert response.status_code == 200, response.json()
    lead.refresh_from_db()
    activity_log(
        lead=lead, actor=sales_rep, kind="call", summary="Zebedee Quixotwhistle asked for a demo"
    )

    # Notifications that name the person: one in-app, one webhook that fails (logged).
    endpoint = webhook_endpoint_create(
        actor=manager, name="CRM sync", url=_closed_port_url(), secret="signing-secret"
    )
    payload = {
        "title": "New lead for you: Zebedee Quixotwhistle",
        "body": f"Write to {EMAIL} today.",
        "url": f"/leads/{lead.pk}/",
        "data": {"lead_id": lead.pk, "email": EMAIL, "name": "Zebedee Quixotwhistle"},
    }
    outbox_write(
        [
            Delivery(
                channel=OutboxChannel.IN_APP,
                delivery_key=f"lead:{lead.pk}:assigned:{sales_rep.pk}",
                event_type="lead.assigned",
                payload=payload,
                recipient_id=sales_rep.pk,
            ),
            Delivery(
                channel=OutboxChannel.WEBHOOK,
                delivery_key=f"lead:{lead.pk}:assigned:webhook",
                event_type="breach.created",
                payload=payload,
                target=str(endpoint.pk),
            ),
        ],
        now=timezone.now(),
    )
    result = outbox_drain()
    assert (result.sent, result.retried) == (1, 1)
    assert Notification.objects.filter(title__contains="Quixotwhistle").exists()
    assert WebhookDelivery.objects.filter(succeeded=False).exists()
    person_export(actor=manager, email=EMAIL)
    return lead


def test_an_erased_person_appears_in_no_table(person_everywhere, manager):
    before = pipeline_by_stage()
    for needle in PERSON:
        assert tables_mentioning(needle), f"{needle} should be stored before the erasure"

    person_erase(actor=manager, email=EMAIL)

    for needle in PERSON:
        assert tables_mentioning(needle) == set(), needle
    # Only this person went: the bystander from the same file is still there.
    assert {"leads_lead", "leads_importjob"} <= tables_mentioning(BYSTANDER)
    assert pipeline_by_stage() == before
    lead = Lead.objects.get(pk=person_everywhere.pk)
    assert (lead.stage, lead.owner_id) == (person_everywhere.stage, person_everywhere.owner_id)
    # The deliveries still go out, without the person in them.
    message = OutboxMessage.objects.get(channel=OutboxChannel.WEBHOOK)
    assert message.payload["data"]["lead_id"] == lead.pk
    assert message.payload["data"]["email"] == "[erased]"

"""Standard Webhooks: a receiver verifies a delivery with the `standardwebhooks` library's
own `verify`, and the webhook-id stays the same on a retry."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
import time_machine
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from crm.errors import DomainError
from crm.outbox import outbox_drain
from sla.services import webhook_endpoint_create
from sla.sweep import sla_sweep
from tests.sla.conftest import MONDAY_10AM

pytestmark = pytest.mark.django_db

SECRET = "whsec_" + base64.b64encode(b"handoff-standard-webhooks-test-key").decode()


def test_a_delivery_verifies_with_the_standardwebhooks_library(
    hand_off, accept_policy, manager, receiver
):
    webhook_endpoint_create(
        actor=manager, name="Standard", url=receiver.url, secret=SECRET, format="standard"
    )
    lead = hand_off()
    now = MONDAY_10AM + timedelta(days=1)
    sla_sweep(now=now)
    receiver.statuses = [503]
    outbox_drain(now=now)
    retry_at = now + timedelta(minutes=5)
    outbox_drain(now=retry_at)
    assert len(receiver.requests) == 2

    (first_headers, _), (headers, body) = receiver.requests
    with time_machine.travel(retry_at, tick=False):  # verify() checks the timestamp's age
        payload = Webhook(SECRET).verify(body, headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(SECRET).verify(body.replace(b"breach", b"brunch"), headers)
        other = "whsec_" + base64.b64encode(b"someone-else-s-key-of-24-bytes").decode()
        with pytest.raises(WebhookVerificationError):
            Webhook(other).verify(body, headers)
    assert payload["type"] == "breach.created"
    assert payload["data"]["lead_id"] == lead.pk
    assert first_headers["webhook-id"] == headers["webhook-id"]
    assert headers["webhook-timestamp"] == str(int(retry_at.timestamp()))
    assert json.loads(body)["timestamp"]


@pytest.mark.parametrize(
    "secret",
    ["", "plain-secret", "whsec_not base64!", "whsec_" + base64.b64encode(b"short").decode()],
)
def test_it_refuses_a_secret_that_is_not_a_standard_webhooks_key(manager, secret):
    with pytest.raises(DomainError) as refused:
        webhook_endpoint_create(
            actor=manager,
            name="Standard",
            url="https://hooks.partner.example/h",
            secret=secret,
            format="standard",
        )
    assert refused.value.field == "secret"

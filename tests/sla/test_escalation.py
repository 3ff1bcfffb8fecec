"""Breaches reach people and systems: in-app, email, and signed webhooks with retries."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail

from crm.models import Notification, OutboxMessage
from crm.notifications import notifications_for_user, notifications_mark_read
from crm.outbox import outbox_drain
from sla.models import WebhookDelivery
from sla.services import webhook_endpoint_create
from sla.sweep import sla_sweep
from sla.webhooks import SIGNATURE_HEADER, signature_is_valid
from tests.sla.conftest import MONDAY_10AM

pytestmark = pytest.mark.django_db

SECRET = "s3cret-for-tests"


class Receiver:
    """A local webhook receiver that answers with the queued status codes (then 200)."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/handoff"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def test_a_breach_reaches_a_webhook_signed_and_retried_after_a_500(
    hand_off, accept_policy, manager, receiver, settings
):
    settings.OUTBOX_RETRY_BASE_SECONDS = 30
    endpoint = webhook_endpoint_create(
        actor=manager, name="Ops", url=receiver.url, secret=SECRET, event_types=["breach.created"]
    )
    lead = hand_off()
    breach_time = MONDAY_10AM + timedelta(days=1)
    sla_sweep(now=breach_time)
    receiver.statuses = [500]

    outbox_drain(now=breach_time)
    message = OutboxMessage.objects.get(channel="webhook")
    assert message.status == "pending"
    assert message.next_attempt_at == breach_time + timedelta(seconds=30)
    outbox_drain(now=breach_time + timedelta(seconds=29))  # not due yet: nothing sent
    assert len(receiver.requests) == 1

    outbox_drain(now=breach_time + timedelta(seconds=30))
    message.refresh_from_db()
    assert message.status == "sent"
    log = list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("attempt"))
    assert [(d.attempt, d.status_code, d.succeeded) for d in log] == [
        (1, 500, False),
        (2, 200, True),
    ]

    headers, body = receiver.requests[-1]
    assert signature_is_valid(
        SECRET, headers["X-Handoff-Timestamp"], body, headers[SIGNATURE_HEADER]
    )
    assert not signature_is_valid(
        "wrong", headers["X-Handoff-Timestamp"], body, headers[SIGNATURE_HEADER]
    )
    payload = json.loads(body)
    assert payload["type"] == "breach.created"
    assert payload["data"]["lead_id"] == lead.pk
    # The same delivery id on the retry lets the receiver drop a repeat.
    assert receiver.requests[0][0]["X-Handoff-Delivery"] == headers["X-Handoff-Delivery"]


def test_a_slack_endpoint_gets_a_text_payload(hand_off, accept_policy, manager, receiver):
    webhook_endpoint_create(actor=manager, name="Slack", url=receiver.url, format="slack")
    hand_off()
    sla_sweep(now=MONDAY_10AM + timedelta(days=1))
    outbox_drain(now=MONDAY_10AM + timedelta(days=1))
    _, body = receiver.requests[0]
    assert json.loads(body)["text"].startswith("*Sam")
    assert "has not accepted Pat" in json.loads(body)["text"]


def test_a_dead_endpoint_is_retried_with_backoff_then_given_up(
    hand_off, accept_policy, manager, settings
):
    settings.OUTBOX_RETRY_BASE_SECONDS = 10
    webhook_endpoint_create(actor=manager, name="Down", url="http://127.0.0.1:9/x", secret=SECRET)
    hand_off()
    now = MONDAY_10AM + timedelta(days=1)
    sla_sweep(now=now)
    delays = []
    for _ in range(8):
        outbox_drain(now=now)
        message = OutboxMessage.objects.get(channel="webhook")
        delays.append((message.next_attempt_at - now).total_seconds())
        now = message.next_attempt_at
    assert delays[:4] == [10, 20, 40, 80]
    assert message.status == "failed"
    assert WebhookDelivery.objects.filter(status_code__isnull=True).count() == 8


def test_breach_email_and_in_app_notifications(hand_off, accept_policy, manager, sales_rep):
    hand_off()
    now = MONDAY_10AM + timedelta(days=1)
    sla_sweep(now=now)
    outbox_drain(now=now)

    assert sorted(m.to[0] for m in mail.outbox) == sorted([manager.email, sales_rep.email])
    assert "has not accepted Pat" in mail.outbox[0].subject
    unread = notifications_for_user(user=sales_rep, unread_only=True)
    assert [n.kind for n in unread] == ["breach.created"]

    assert notifications_mark_read(user=manager, notification_ids=[unread[0].pk]) == 0
    assert notifications_mark_read(user=sales_rep) == 1
    assert not notifications_for_user(user=sales_rep, unread_only=True).exists()


def test_at_risk_warns_the_owner_only(hand_off, accept_policy, sales_rep):
    lead = hand_off()
    at_risk = lead.clocks.get().at_risk_at
    sla_sweep(now=at_risk)
    outbox_drain(now=at_risk)
    assert list(Notification.objects.values_list("user_id", "kind")) == [
        (sales_rep.pk, "clock.at_risk")
    ]


def test_two_drains_deliver_an_in_app_message_once(hand_off, accept_policy):
    hand_off()
    now = MONDAY_10AM + timedelta(days=1)
    sla_sweep(now=now)
    OutboxMessage.objects.update(claimed_until=None)
    first = outbox_drain(now=now)
    second = outbox_drain(now=now)
    assert first.sent == 4 and second.sent == 0
    assert Notification.objects.count() == 2

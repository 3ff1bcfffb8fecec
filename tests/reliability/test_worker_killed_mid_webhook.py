"""A worker SIGKILLed while a webhook receiver holds its request: after a restart the
delivery completes, the log shows one success, and the receiver (deduplicating by the
X-Handoff-Delivery header) applies the effect exactly once."""

from __future__ import annotations

import json
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.utils import timezone

from crm.models import OutboxChannel, OutboxMessage
from crm.outbox import Delivery, outbox_write
from sla.models import WebhookDelivery
from sla.services import webhook_endpoint_create
from sla.webhooks import IN_FLIGHT
from tests.reliability.conftest import (
    PrivateRedis,
    Processes,
    app_env,
    shared_database_url,
    wait_for,
)


class Receiver:
    """An integrator's endpoint: applies each delivery once, holds the very first request."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.effects: dict[str, dict] = {}
        self.holding = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                delivery = self.headers["X-Handoff-Delivery"]
                receiver.seen.append(delivery)
                receiver.effects.setdefault(delivery, body)  # the deduplicated effect
                if len(receiver.seen) == 1:
                    receiver.holding.set()
                    receiver.release.wait(30)
                try:
                    self.send_response(200)
                    self.end_headers()
                except OSError:
                    pass  # the sender is gone

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_webhook_delivers_once_after_restart(
    private_redis: PrivateRedis, processes: Processes, tmp_path: Path, manager
):
    receiver = Receiver()
    try:
        endpoint = webhook_endpoint_create(
            actor=manager, name="Ops", url=receiver.url, secret="s3cret-for-signing"
        )
        outbox_write(
            [
                Delivery(
                    channel=OutboxChannel.WEBHOOK,
                    delivery_key="breach:1:webhook:test",
                    event_type="breach.created",
                    payload={"title": "SLA breach", "body": "late", "data": {"breach_id": 1}},
                    target=str(endpoint.pk),
                )
            ],
            now=timezone.now(),
        )
        env = app_env(
            database_url=shared_database_url(),
            redis_url=private_redis.url,
            var_dir=tmp_path,
            OUTBOX_ENQUEUE_HINTS="0",
            OUTBOX_DRAIN_SECONDS="1",
            OUTBOX_LEASE_SECONDS="4",
            HEARTBEAT_SECONDS="3600",
            SLA_SWEEP_SECONDS="3600",
        )
        doomed = processes.worker("doomed", env)
        processes.celery("beat", env, "beat", "-s", str(tmp_path / "beat-schedule"))
        assert receiver.holding.wait(60), "the worker never reached the receiver"
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
        receiver.release.set()

        message = OutboxMessage.objects.get()
        assert message.status == OutboxMessage.Status.PENDING  # claimed, never finished
        # The attempt was logged before its request left: an "in flight" row, not a hole.
        in_flight = WebhookDelivery.objects.get()
        assert (in_flight.attempt, in_flight.error, in_flight.succeeded) == (1, IN_FLIGHT, False)

        processes.worker("survivor", env)
        wait_for(
            lambda: OutboxMessage.objects.get().status == OutboxMessage.Status.SENT,
            timeout=60,
            what="the restarted worker to deliver",
        )
        time.sleep(3)  # more beat re-drains: a second send would show now
    finally:
        receiver.close()

    assert receiver.seen == ["breach:1:webhook:test"] * 2  # the held one and the retry
    assert list(receiver.effects) == ["breach:1:webhook:test"]
    assert receiver.effects["breach:1:webhook:test"]["data"] == {"breach_id": 1}
    message = OutboxMessage.objects.get()
    assert message.attempts == 2
    deliveries = WebhookDelivery.objects.order_by("attempt")
    assert [(d.succeeded, d.status_code, d.attempt) for d in deliveries] == [
        (False, None, 1),
        (True, 200, 2),
    ]

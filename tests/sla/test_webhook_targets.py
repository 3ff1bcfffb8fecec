"""Webhooks reach public HTTP(S) addresses only, checked when saved and on the connected
socket at delivery (DNS rebinding), unless WEBHOOK_ALLOWED_HOSTS names the host; and every
attempt is in the delivery log before its request is sent."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest

from crm.errors import DomainError
from crm.models import OutboxMessage
from crm.outbox import outbox_drain
from sla import webhooks
from sla.models import WebhookDelivery
from sla.services import webhook_endpoint_create
from sla.sweep import sla_sweep
from tests.sla.conftest import MONDAY_10AM

pytestmark = pytest.mark.django_db

SECRET = "s3cret-for-targets"
PUBLIC_ADDRESS = "93.184.215.14"


@pytest.fixture
def no_exempt_hosts(settings) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fd00:ec2::254]/hook",
        "http://0.0.0.0/hook",
        "ftp://hooks.partner.example/hook",
        "file:///etc/passwd",
        "gopher://hooks.partner.example/",
    ],
)
def test_it_refuses_a_webhook_to_a_non_public_or_non_http_target(manager, no_exempt_hosts, url):
    with pytest.raises(DomainError) as refused:
        webhook_endpoint_create(actor=manager, name="Inside", url=url, secret=SECRET)
    assert refused.value.field == "url"


def test_a_host_named_in_the_setting_may_be_private(manager, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["10.1.2.3"]
    endpoint = webhook_endpoint_create(
        actor=manager, name="Inside", url="http://10.1.2.3/hook", secret=SECRET
    )
    assert endpoint.url == "http://10.1.2.3/hook"


def test_a_name_that_resolves_to_a_private_address_is_refused(
    manager, no_exempt_hosts, monkeypatch
):
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if host == "intranet.partner.example":
            return real("10.1.2.3", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(DomainError, match=r"10\.1\.2\.3"):
        webhook_endpoint_create(
            actor=manager, name="Inside", url="http://intranet.partner.example/h", secret=SECRET
        )


def test_a_name_rebound_to_loopback_after_saving_is_refused_at_delivery(
    hand_off, accept_policy, manager, receiver, no_exempt_hosts, monkeypatch
):
    """The name answers a public address while saved and checked, then 127.0.0.1 when the
    connection is made: the connected socket is checked, so nothing reaches the receiver."""
    port = receiver.server.server_address[1]
    real = socket.getaddrinfo
    answers = iter([PUBLIC_ADDRESS, PUBLIC_ADDRESS])

    def rebinding(host, *args, **kwargs):
        if host == "hooks.partner.example":
            return real(next(answers, "127.0.0.1"), *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    webhook_endpoint_create(
        actor=manager, name="Partner", url=f"http://hooks.partner.example:{port}/h", secret=SECRET
    )
    hand_off()
    now = MONDAY_10AM + timedelta(days=1)
    sla_sweep(now=now)
    outbox_drain(now=now)

    assert receiver.requests == []
    attempt = WebhookDelivery.objects.get()
    assert not attempt.succeeded
    assert "127.0.0.1" in attempt.error
    assert OutboxMessage.objects.get(channel="webhook").status == "pending"


def test_an_attempt_is_logged_before_its_request_is_sent(
    hand_off, accept_policy, manager, receiver, monkeypatch
):
    """A worker killed mid-request leaves an "in flight" row, not a hole in the log."""
    webhook_endpoint_create(actor=manager, name="Ops", url=receiver.url, secret=SECRET)
    hand_off()
    now = MONDAY_10AM + timedelta(days=1)
    sla_sweep(now=now)

    class KilledMidRequest(BaseException):
        pass

    def killed(*args: object, **kwargs: object) -> None:
        raise KilledMidRequest

    monkeypatch.setattr(webhooks.requests.Session, "post", killed)
    with pytest.raises(KilledMidRequest):
        outbox_drain(now=now)
    attempt = WebhookDelivery.objects.get()
    assert (attempt.attempt, attempt.succeeded, attempt.error) == (1, False, webhooks.IN_FLIGHT)

"""Outbound webhooks: payloads, the HMAC-SHA256 signature and one delivery attempt.

Generic receivers get JSON with `X-Handoff-Signature: sha256=<hex>` computed over
`<timestamp>.<body>` with the endpoint's secret, plus `X-Handoff-Timestamp` and
`X-Handoff-Delivery` (the same on every retry, so a receiver can drop repeats).
Slack-compatible endpoints get `{"text": ...}`. Standard Webhooks endpoints get
`{"type", "timestamp", "data"}` with the `webhook-id`, `webhook-timestamp` and
`webhook-signature` headers (https://www.standardwebhooks.com), verifiable with any of that
specification's libraries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime
from typing import Any

import requests
from standardwebhooks import Webhook

from crm.models import OutboxMessage
from sla.models import WebhookDelivery, WebhookEndpoint, WebhookFormat
from sla.webhook_targets import checked_session, webhook_url_problem

TIMEOUT_SECONDS = 5
SIGNATURE_HEADER = "X-Handoff-Signature"
# What a delivery log row says between the attempt starting and its answer.
IN_FLIGHT = "in flight: no answer recorded yet"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def signature_is_valid(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver does; used by our own tests and documented for integrators."""
    return hmac.compare_digest(sign(secret, timestamp, body), header or "")


def standard_headers(secret: str, message_id: str, now: datetime, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers, signed by the `standardwebhooks` package itself, so any
    receiver's off-the-shelf `Webhook(secret).verify(body, headers)` accepts them. The id is
    the delivery key: the same on every retry, for the receiver's de-duplication."""
    signature = Webhook(secret).sign(msg_id=message_id, timestamp=now, data=body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


def webhook_body(endpoint: WebhookEndpoint, message: OutboxMessage) -> dict[str, Any]:
    payload = message.payload
    if endpoint.format == WebhookFormat.SLACK:
        text = f"*{payload.get('title', '')}*\n{payload.get('body', '')}"
        if payload.get("url"):
            text += f"\n{payload['url']}"
        return {"text": text}
    if endpoint.format == WebhookFormat.STANDARD:
        return {
            "type": message.event_type,
            "timestamp": message.created_at.isoformat(),
            "data": {
                **payload.get("data", {}),
                "title": payload.get("title", ""),
                "body": payload.get("body", ""),
            },
        }
    return {
        "type": message.event_type,
        "delivery": message.delivery_key,
        "data": payload.get("data", {}),
        "title": payload.get("title", ""),
        "body": payload.get("body", ""),
    }


def deliver_webhook(message: OutboxMessage, now: datetime) -> None:
    """POST once and log the attempt; raise on anything but a 2xx so the outbox retries."""
    endpoint = WebhookEndpoint.objects.filter(pk=int(message.target or 0)).first()
    if endpoint is None or not endpoint.active:
        return  # removed or switched off since: nothing to send, nothing to retry
    body = json.dumps(webhook_body(endpoint, message), separators=(",", ":")).encode()
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Handoff-Webhooks/1",
        "X-Handoff-Event": message.event_type,
        "X-Handoff-Delivery": message.delivery_key,
        "X-Handoff-Timestamp": timestamp,
    }
    if endpoint.format == WebhookFormat.STANDARD:
        headers.update(standard_headers(endpoint.secret, message.delivery_key, now, body))
    elif endpoint.secret:
        headers[SIGNATURE_HEADER] = sign(endpoint.secret, timestamp, body)
    # The attempt is logged before anything is sent: a worker killed mid-request leaves an
    # "in flight" row in the delivery log, not a hole.
    attempt = WebhookDelivery.objects.create(
        endpoint=endpoint,
        delivery_key=message.delivery_key,
        event_type=message.event_type,
        attempt=message.attempts,
        error=IN_FLIGHT,
        created_at=now,
    )
    started = time.monotonic()
    status_code: int | None = None
    error = webhook_url_problem(endpoint.url) or ""
    if not error:
        try:
            response = checked_session().post(
                endpoint.url,
                data=body,
                headers=headers,
                timeout=TIMEOUT_SECONDS,
                allow_redirects=False,
            )
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except requests.RequestException as exc:
            error = f"{exc.__class__.__name__}: {exc}"[:500]
    WebhookDelivery.objects.filter(pk=attempt.pk).update(
        status_code=status_code,
        error=error[:500],
        duration_ms=int((time.monotonic() - started) * 1000),
        succeeded=not error,
    )
    if error:
        raise WebhookFailed(error)


class WebhookFailed(Exception):
    """A non-2xx answer or no answer: the outbox schedules the next attempt."""

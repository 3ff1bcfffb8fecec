"""Celery tasks of crm core: thin wrappers around the outbox and housekeeping."""

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from crm.api.idempotency import idempotency_purge
from crm.digest import email_digests_send
from crm.outbox import DRAIN_TASK, LANES, outbox_drain_lane, send_hint

logger = logging.getLogger("handoff.heartbeat")


@shared_task(name="crm.tasks.heartbeat")
def heartbeat() -> str:
    """Logged by the worker every HEARTBEAT_SECONDS: proof that beat reaches a worker."""
    stamp = timezone.now().isoformat()
    logger.info("heartbeat %s", stamp)
    return stamp


@shared_task(name=DRAIN_TASK, ignore_result=True)
def drain_outbox(lane: str | None = None) -> int:
    """Deliver pending notifications, emails and webhooks (after a commit, and every minute):
    each lane batch after batch while messages are due, then hand what is left to a fresh
    task so one task never runs for long."""
    sent = 0
    for name in [lane] if lane in LANES else list(LANES):
        result, more = outbox_drain_lane(
            lane=name, budget_seconds=settings.OUTBOX_DRAIN_BUDGET_SECONDS
        )
        sent += result.sent
        if more:
            send_hint(DRAIN_TASK, name)
    return sent


@shared_task(name="crm.tasks.purge_idempotency_records")
def purge_idempotency_records() -> int:
    """Forget Idempotency-Key answers past their retention (24 h by default)."""
    return idempotency_purge(now=timezone.now())


@shared_task(name="crm.tasks.send_email_digests")
def send_email_digests() -> int:
    """Gather held notification e-mails into each person's digest when its time has come."""
    return email_digests_send(now=timezone.now())

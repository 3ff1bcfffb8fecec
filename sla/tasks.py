"""Celery tasks: thin wrappers that call the SLA services (which own the idempotency)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from crm.monitoring import SWEEP_FLAGGED, SWEEP_RUNS, count
from sla.clocks import NOTIFY_BREACHES_TASK
from sla.commitments import commitments_evaluate
from sla.review.digest import joint_review_digest_due
from sla.services import calendars_refresh_public_holidays
from sla.sweep import breaches_notify, sla_sweep

logger = logging.getLogger("handoff.sla")


@shared_task(name="sla.tasks.sweep", ignore_result=True)
def sweep() -> str:
    """Beat, every SLA_SWEEP_SECONDS: flag at-risk and breached clocks, notify breaches."""
    result = sla_sweep()
    count(SWEEP_FLAGGED, "at_risk", result.at_risk)
    count(SWEEP_FLAGGED, "breached", result.breached)
    count(SWEEP_RUNS)
    logger.info("sla sweep: %s", result)
    return str(result)


@shared_task(name=NOTIFY_BREACHES_TASK, ignore_result=True)
def notify_breaches() -> int:
    """A hint after a breach commits; the next sweep notifies it anyway if this is lost."""
    return breaches_notify()


@shared_task(name="sla.tasks.evaluate_commitments", ignore_result=True)
def evaluate_commitments() -> int:
    """Beat, hourly: close finished commitment periods; a missed one becomes a breach."""
    return len(commitments_evaluate())


@shared_task(name="sla.tasks.refresh_public_holidays", ignore_result=True)
def refresh_public_holidays() -> int:
    """Beat, daily: calendars with a country keep public holidays through the year after next."""
    return calendars_refresh_public_holidays()


@shared_task(name="sla.tasks.send_joint_review_digest", ignore_result=True)
def send_joint_review_digest() -> str:
    """Beat, every few minutes: the week's joint review digest once its time has come; a
    second scheduler or a replayed task finds it sent and does nothing."""
    result = joint_review_digest_due(now=timezone.now())
    return "" if result is None else f"{result.period}: {result.deliveries} deliveries"

"""The Celery app and its beat schedule (kept in code so every process agrees)."""

import logging
import os

from celery import Celery
from celery.signals import after_setup_logger, task_failure, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("handoff")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def ensure_embedded_broker_folders(sender: Celery, **_: object) -> None:
    """The filesystem broker needs its folders to exist before the first message."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            os.makedirs(options[key], exist_ok=True)


@after_setup_logger.connect
def quiet_task_lines(**_: object) -> None:
    """Under `make run` (run_stack sets HANDOFF_QUIET_TASKS=1) the worker does not log two
    lines per task run: beat's every-minute tasks would fill the console. Failures still log
    (as errors), and so does the heartbeat."""
    if os.environ.get("HANDOFF_QUIET_TASKS") == "1":
        for name in ("celery.app.trace", "celery.worker.strategy"):
            logging.getLogger(name).setLevel(logging.WARNING)


def beat_schedule() -> dict[str, dict[str, object]]:
    from django.conf import settings

    return {
        "heartbeat-proves-beat-reaches-worker": {
            "task": "crm.tasks.heartbeat",
            "schedule": float(settings.HEARTBEAT_SECONDS),
        },
        # SLA: the database is the truth; these periodic runs pick up whatever a lost hint,
        # a dead worker or a down broker left behind.
        "sla-sweep-flags-at-risk-and-breached-clocks": {
            "task": "sla.tasks.sweep",
            "schedule": float(settings.SLA_SWEEP_SECONDS),
        },
        "outbox-redrain-pending-notices-and-emails": {
            "task": "crm.tasks.drain_outbox",
            "schedule": float(settings.OUTBOX_DRAIN_SECONDS),
            "args": ("notices",),
        },
        "outbox-redrain-pending-webhooks": {
            "task": "crm.tasks.drain_outbox",
            "schedule": float(settings.OUTBOX_DRAIN_SECONDS),
            "args": ("webhooks",),
        },
        # A digest goes out within EMAIL_DIGEST_SECONDS of its hour (crm.digest).
        "outbox-gather-held-emails-into-digests": {
            "task": "crm.tasks.send_email_digests",
            "schedule": float(settings.EMAIL_DIGEST_SECONDS),
        },
        "leads-notify-follow-ups-due-today": {
            "task": "leads.tasks.notify_follow_ups",
            "schedule": 900.0,  # a day's follow-up is told within a quarter of an hour
        },
        "leads-resume-queued-or-stalled-imports": {
            "task": "leads.tasks.resume_imports",
            "schedule": float(settings.IMPORT_RESUME_SECONDS),
        },
        # The figures read the change rows too; folding keeps them few.
        "leads-fold-kept-counts": {
            "task": "leads.tasks.fold_tallies",
            "schedule": 60.0,
        },
        "sla-evaluate-closed-commitment-periods": {
            "task": "sla.tasks.evaluate_commitments",
            "schedule": float(settings.SLA_COMMITMENT_SECONDS),
        },
        # Checked every five minutes; the digest's unique period makes it go out once.
        "sla-send-joint-review-digest-weekly": {
            "task": "sla.tasks.send_joint_review_digest",
            "schedule": 300.0,
        },
        "sla-refresh-public-holidays-daily": {
            "task": "sla.tasks.refresh_public_holidays",
            "schedule": 86400.0,
        },
        "purge-expired-idempotency-keys-hourly": {
            "task": "crm.tasks.purge_idempotency_records",
            "schedule": 3600.0,
        },
    }


app.conf.beat_schedule = beat_schedule()


@task_failure.connect
def count_task_failure(sender: object = None, **_: object) -> None:
    """Every task that raises is counted for /metrics (handoff_celery_task_failures)."""
    from crm.monitoring import TASK_FAILURES, count

    count(TASK_FAILURES, getattr(sender, "name", "unknown"))


@task_prerun.connect
def tag_task_log_lines(**kwargs: object) -> None:
    from crm.logs import task_started

    task_started(**kwargs)  # type: ignore[arg-type]


@task_postrun.connect
def log_task_outcome(**kwargs: object) -> None:
    from crm.logs import task_finished

    task_finished(**kwargs)  # type: ignore[arg-type]

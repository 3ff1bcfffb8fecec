"""Celery tasks for leads: thin wrappers that take ids and call a service."""

from __future__ import annotations

from celery import shared_task

from leads.import_services import import_run


@shared_task(name="leads.tasks.import_csv", acks_late=True)
def import_csv(import_id: int) -> None:
    """Run (or resume) a CSV import; safe to deliver twice (see `import_run`)."""
    import_run(job_id=import_id)

"""Celery tasks for leads: thin wrappers that take ids and call a service."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from leads.services.followups import followups_notify
from leads.services.imports import (
    IMPORT_TASK,
    import_fail,
    import_run,
    imports_resume_stalled,
)
from leads.services.tallies import tallies_fold

MAX_RETRIES = 3


@shared_task(name=IMPORT_TASK, bind=True, acks_late=True, max_retries=MAX_RETRIES)
def import_csv(self, import_id: int) -> None:
    """Run (or resume) a CSV import; safe to deliver twice (see `import_run`).

    A lost database connection is retried (the run resumes at the last committed chunk);
    anything else marks the job failed so the page stops waiting.
    """
    try:
        import_run(job_id=import_id)
    except OperationalError as exc:
        if self.request.retries >= MAX_RETRIES:
            import_fail(job_id=import_id, message="The database was unavailable; try again.")
            raise
        raise self.retry(exc=exc, countdown=5 * (self.request.retries + 1)) from exc
    except Exception:
        import_fail(job_id=import_id, message="The import stopped on an unexpected error.")
        raise


@shared_task(name="leads.tasks.resume_imports")
def resume_imports() -> None:
    """Beat: send again the imports that stayed queued or stalled mid-way."""
    imports_resume_stalled()


@shared_task(name="leads.tasks.notify_follow_ups")
def notify_follow_ups() -> None:
    """Beat: tell each owner of the follow-ups due today (once each, by delivery key)."""
    followups_notify()


@shared_task(name="leads.tasks.fold_tallies")
def fold_tallies() -> None:
    """Beat: fold the change rows of the leads' kept counts (leads.services.tallies)."""
    tallies_fold()

"""An import queued while the broker was down, and a worker SIGKILLed in the middle of it:
beat sends it again, a new worker resumes from the last saved row, and every row of the file
becomes exactly one lead."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import pytest

from leads.models import ImportJob, Lead, LeadEvent
from leads.services.imports import import_upload
from tests.reliability.conftest import (
    PrivateRedis,
    Processes,
    app_env,
    shared_database_url,
    wait_for,
)

ROWS = 1500


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_import_leaves_every_row_imported_once(
    private_redis: PrivateRedis, processes: Processes, tmp_path: Path, marketer
):
    raw = "Email,First Name\n" + "".join(f"p{n}@acme.example,P{n}\n" for n in range(ROWS))
    job = import_upload(actor=marketer, filename="big.csv", raw=raw.encode())
    # Confirmed while the broker was down: queued, and no task ever reached a worker.
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.QUEUED, mapping=job.mapping, progressed_at=None
    )
    env = app_env(
        database_url=shared_database_url(),
        redis_url=private_redis.url,
        var_dir=tmp_path,
        IMPORT_RESUME_SECONDS="1",
        IMPORT_STALLED_SECONDS="3",
        HEARTBEAT_SECONDS="3600",
        SLA_SWEEP_SECONDS="3600",
        OUTBOX_DRAIN_SECONDS="3600",
        OUTBOX_ENQUEUE_HINTS="0",
    )
    doomed = processes.worker("doomed", env)
    processes.celery("beat", env, "beat", "-s", str(tmp_path / "beat-schedule"))
    wait_for(
        lambda: ImportJob.objects.get(pk=job.pk).processed_rows >= 100,
        timeout=90,
        what="beat to send the queued import and the worker to save some rows",
    )
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    stopped_at = ImportJob.objects.get(pk=job.pk)
    assert stopped_at.status == ImportJob.Status.RUNNING
    assert stopped_at.processed_rows < ROWS, "the import finished before the kill"

    processes.worker("survivor", env)
    wait_for(
        lambda: ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.DONE,
        timeout=180,
        what="beat to resume the stalled import on the new worker",
    )

    job = ImportJob.objects.get(pk=job.pk)
    assert (job.processed_rows, job.imported_count, job.error_count) == (ROWS, ROWS, 0)
    emails = Counter(Lead.objects.values_list("email", flat=True))
    assert len(emails) == ROWS and set(emails.values()) == {1}
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.CREATED).count() == ROWS
    assert "resume_imports" in processes.log("beat")

"""Beat sends again the imports that stayed queued or stopped moving; each is claimed, so
two schedulers at once send it once, and a job still moving is left alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from leads.models import ImportJob, Lead
from leads.services import imports
from leads.services.imports import (
    import_run,
    import_start,
    import_upload,
    imports_resume_stalled,
)

pytestmark = pytest.mark.django_db

RAW = "Email\n" + "".join(f"p{n}@acme.example\n" for n in range(60))


@pytest.fixture
def sent(monkeypatch) -> list[list[int]]:
    """The tasks sent to the broker (external I/O), by their arguments."""
    calls: list[list[int]] = []
    monkeypatch.setattr(imports.current_app, "send_task", lambda name, args: calls.append(args))
    return calls


@pytest.fixture
def queued(marketer, sent) -> ImportJob:
    job = import_upload(actor=marketer, filename="x.csv", raw=RAW.encode())
    import_start(job=job, actor=marketer, mapping=job.mapping)
    sent.clear()  # the broker was down: that first send is lost
    return ImportJob.objects.get(pk=job.pk)


def test_it_resends_an_import_that_stayed_queued_once(queued, sent, settings):
    settings.IMPORT_STALLED_SECONDS = 120
    with time_machine.travel(queued.progressed_at + timedelta(seconds=60), tick=False):
        assert imports_resume_stalled() == []
    later = queued.progressed_at + timedelta(seconds=121)
    assert imports_resume_stalled(now=later) == [queued.pk]
    assert imports_resume_stalled(now=later) == []  # claimed: the second scheduler sends nothing
    assert sent == [[queued.pk]]


def test_it_resends_an_import_whose_worker_died_mid_way(queued, sent, settings):
    settings.IMPORT_STALLED_SECONDS = 120
    # A worker started it and died in its first chunk (rolled back): nothing saved.
    ImportJob.objects.filter(pk=queued.pk).update(
        status=ImportJob.Status.RUNNING, progressed_at=timezone.now() - timedelta(minutes=5)
    )

    assert imports_resume_stalled() == [queued.pk]
    job = import_run(job_id=sent[-1][0])

    assert (job.status, job.processed_rows, job.imported_count) == ("done", 60, 60)
    assert Lead.objects.count() == 60


def test_it_leaves_finished_and_moving_imports_alone(queued, sent, settings):
    settings.IMPORT_STALLED_SECONDS = 120
    ImportJob.objects.filter(pk=queued.pk).update(
        status=ImportJob.Status.DONE, progressed_at=timezone.now() - timedelta(hours=1)
    )
    assert imports_resume_stalled() == []
    ImportJob.objects.filter(pk=queued.pk).update(
        status=ImportJob.Status.RUNNING, progressed_at=timezone.now() - timedelta(seconds=30)
    )
    assert imports_resume_stalled() == []
    assert sent == []

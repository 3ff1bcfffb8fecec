"""On the embedded SQLite file, a running import leaves room for the web: thirty creates
sent in parallel while a large import runs all succeed, and all before the import ends
(WAL, the busy timeout, and an import that commits each chunk and pauses between chunks).

Run in a child process on a file database of its own, as `make run` uses it. How fast the
creates are is for the bench to say; this checks that none fails and none waits the import
out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.reliability.conftest import ROOT

SCRIPT = r"""
import json, threading, time
import django
django.setup()
from django.core.management import call_command
from django.db import OperationalError, connection
from crm.models import Role, Team, User
from leads.models import ImportJob, Lead
from leads.services.imports import import_run, import_upload
from leads.services.leads import LeadInput, lead_create

call_command("migrate", verbosity=0)
journal = connection.cursor().execute("PRAGMA journal_mode").fetchone()[0]
marketer = User.objects.create(username="m", role=Role.MARKETER, team=Team.MARKETING)
raw = "Email\n" + "".join(f"p{n}@import.example\n" for n in range(ROWS))
job = import_upload(actor=marketer, filename="big.csv", raw=raw.encode())
ImportJob.objects.filter(pk=job.pk).update(status="queued", mapping=job.mapping)
finished = threading.Event()

def run_import():
    try:
        import_run(job_id=job.pk)
    finally:
        connection.close()
        finished.set()

importer = threading.Thread(target=run_import)
importer.start()
while ImportJob.objects.get(pk=job.pk).processed_rows < 100:
    time.sleep(0.02)
connection.close()
results = []

def create(n):
    try:
        lead_create(actor=marketer, data=LeadInput(email=f"web{n}@form.example"))
        results.append("before the import ended" if not finished.is_set() else "after it")
    except OperationalError as exc:
        results.append(f"failed: {exc}")
    finally:
        connection.close()

creators = [threading.Thread(target=create, args=(n,)) for n in range(30)]
for thread in creators:
    thread.start()
for thread in creators:
    thread.join()
importer.join()
job = ImportJob.objects.get(pk=job.pk)
print(json.dumps({
    "journal": journal,
    "results": results,
    "import": [job.status, job.imported_count],
    "leads": Lead.objects.count(),
}))
"""

ROWS = 3000


def test_a_running_import_leaves_room_for_the_web_on_sqlite(tmp_path: Path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'handoff.sqlite3'}",
        HANDOFF_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="crm.settings",
        LOG_LEVEL="WARNING",
    )
    done = subprocess.run(
        [sys.executable, "-c", f"ROWS = {ROWS}\n{SCRIPT}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])

    assert report["journal"] == "wal"
    assert report["results"] == ["before the import ended"] * 30
    assert report["import"] == ["done", ROWS]
    assert report["leads"] == ROWS + 30

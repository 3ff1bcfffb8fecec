"""Start the web server, a Celery worker and Celery beat together; Ctrl-C stops all three."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run web + worker + beat as one foreground command (the embedded default of make run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--concurrency", type=int, default=2)

    def handle(self, *args: Any, **options: Any) -> None:
        bin_dir = Path(sys.executable).parent
        celery = str(bin_dir / "celery")
        schedule = str(Path(settings.VAR_DIR) / "celerybeat-schedule")
        # A console people can read: no banners (-q), no line per task run (crm.celery reads
        # HANDOFF_QUIET_TASKS), beat only when something is wrong; the worker's heartbeat
        # line each minute stays, and mail goes to files under var/mail/ (settings).
        commands = [
            [
                celery,
                "-A",
                "crm",
                "-q",
                "worker",
                "--loglevel=INFO",
                f"--concurrency={options['concurrency']}",
                "--hostname=worker@%h",
            ],
            # Beat runs as its own process: an embedded beat can outlive a killed worker.
            [celery, "-A", "crm", "-q", "beat", "--loglevel=WARNING", f"--schedule={schedule}"],
            [sys.executable, "manage.py", "runserver", options["addr"], "--noreload"],
        ]
        env = {
            **os.environ,
            "HANDOFF_QUIET_TASKS": "1",
            # Celery's advice not to run as root, printed in full when a container or a
            # sandbox runs everything as root; the embedded stack is for one machine.
            "PYTHONWARNINGS": "ignore:You're running the worker with superuser privileges",
        }
        processes = [subprocess.Popen(command, env=env) for command in commands]
        self.stdout.write(f"Handoff on http://{options['addr']}/ - Ctrl-C stops everything.")
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self._stop(processes)

    def _stop(self, processes: list[subprocess.Popen[bytes]]) -> None:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()

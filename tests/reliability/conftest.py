"""Throwaway servers for fault tests: a private Redis, a private PostgreSQL cluster, the app
under gunicorn, Celery worker and beat processes. The shared servers are never touched;
every process started here is stopped, and every directory removed, even when a test fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from tests.reliability.schedulers import CountingReceiver

ROOT = Path(__file__).resolve().parents[2]


def _postgres_bin() -> Path:
    """PG_BIN, else the newest Debian-style server install, else where initdb is on PATH."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    installed = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: [int(x) for x in p.parts[-3].split(".") if x.isdigit()],
    )
    if installed:
        return installed[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _postgres_bin()

# Monday 2 March 2026, 10:00 in London (GMT): inside working hours.
MONDAY_10AM = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:  # the thing is not up yet
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def stop_process(process: subprocess.Popen[bytes] | None, *, timeout: float = 15.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class PrivateRedis:
    """`redis-server` on a free port, no persistence; start and stop at will."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(lambda: port_open(self.port), 10, "the private redis to listen")

    def stop(self) -> None:
        stop_process(self.process)
        wait_for(lambda: not port_open(self.port), 10, "the private redis to stop")


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed", pytrace=False)
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        stop_process(server.process)


class PrivateCluster:
    """A PostgreSQL cluster of its own in a temp dir, run as the `postgres` OS user when the
    tests run as root (initdb refuses root), trust auth, its socket in the temp dir."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.data = base / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        command = [str(a) for a in args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, timeout=timeout, check=True)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/handoff"

    def init(self) -> None:
        self._run(PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                  "--no-sync", "-E", "UTF8")  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.base}'\nfsync = off\n"
                "synchronous_commit = off\nfull_page_writes = off\n"
            )
        self.start()
        self._run(PG_BIN / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U",
                  "postgres", "handoff")  # fmt: skip

    def pg_ctl(self, *args: str) -> None:
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.base / "server.log", "-w",
                  "-t", "60", *args)  # fmt: skip

    def start(self) -> None:
        self.pg_ctl("start")

    def restart(self) -> None:
        self.pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self.pg_ctl("stop", "-m", "immediate")


@pytest.fixture
def private_cluster() -> Iterator[PrivateCluster]:
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL server binaries not found in {PG_BIN}", pytrace=False)
    base = Path(tempfile.mkdtemp(prefix="handoff-pg-"))
    cluster = PrivateCluster(base)
    if cluster.as_postgres:
        shutil.chown(base, "postgres", "postgres")
    try:
        cluster.init()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


def app_env(*, database_url: str, redis_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of an app process (web, worker, beat) for these tests."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in ("CELERY_BROKER_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE", "DATABASE_REPLICA_URL")
    }
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        HANDOFF_VAR_DIR=str(var_dir),
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        DB_CONN_MAX_AGE="60",
        LOG_LEVEL="WARNING",
        WEBHOOK_ALLOWED_HOSTS="127.0.0.1",  # the tests' receivers listen on loopback
        **extra,
    )
    return env


class Processes:
    """Subprocesses started by one test, each logged to a file; all stopped at the end."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started.append(process)
        return process

    def gunicorn(self, env: dict[str, str], *, workers: int = 2) -> str:
        port = free_port()
        process = self.start(
            "gunicorn",
            [sys.executable, "-m", "gunicorn", "crm.wsgi:application", "--bind",
             f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "30",
             "--graceful-timeout", "5"],
            env,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        wait_for(
            lambda: process.poll() is None and requests.get(f"{base}/healthz", timeout=2).ok,
            30,
            "gunicorn to answer /healthz",
        )
        return base

    def celery(self, name: str, env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
        return self.start(
            name, [sys.executable, "-m", "celery", "-A", "crm", *extra, "--loglevel=INFO"], env
        )

    def worker(self, name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        return self.celery(
            name, env, "worker", "--pool=solo", f"--hostname={name}@test",
            "--without-heartbeat", "--without-gossip", "--without-mingle",
        )  # fmt: skip

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for process in reversed(self.started):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


def shared_database_url() -> str:
    """The pytest database as a URL another process can use."""
    from django.db import connection

    db = connection.settings_dict
    user = db["USER"] or "postgres"
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def database_rows_as_text() -> list[tuple[str, str]]:
    """Every row of every table the app knows (auto-created link tables included), each as
    (table, text of its values): what a search for leaked personal data or secrets reads."""
    from django.apps import apps

    rows = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        for values in model._base_manager.values():
            rows.append((model._meta.db_table, str(values)))
    return rows


def tables_mentioning(needle: str) -> set[str]:
    lowered = needle.lower()
    return {table for table, text in database_rows_as_text() if lowered in text.lower()}


@pytest.fixture
def receiver():
    """A webhook receiver on loopback that counts the deliveries reaching it."""
    server = CountingReceiver()
    yield server
    server.close()

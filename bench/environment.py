"""The bench's process environment: its own PostgreSQL database, Redis db and settings."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

DB_NAME = os.environ.get("BENCH_DATABASE_NAME", "handoff_bench")
PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_USER = os.environ.get("BENCH_PG_USER", "root")
DATABASE_URL = f"postgres://{PG_USER}@{PG_HOST}:5432/{DB_NAME}"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
SECRET = "bench-only-secret-key-" + "x" * 40


def bench_env() -> dict[str, str]:
    """Variables every bench process (this one, gunicorn, celery) runs with: production-like
    (DEBUG off) against the bench database."""
    return {
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "DEBUG": "0",
        "SECRET_KEY": SECRET,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_SSL_REDIRECT": "0",
        "API_KEY_RATE": "10000000/min",
        "OUTBOX_ENQUEUE_HINTS": "0",
        "LOG_LEVEL": "WARNING",
        # Seeding a million rows runs statements far longer than a request may.
        "DB_STATEMENT_TIMEOUT_MS": "0",
        "DJANGO_SETTINGS_MODULE": "crm.settings",
    }


def _pg_ready() -> bool:
    return (
        subprocess.run(
            ["pg_isready", "-q", "-h", PG_HOST], check=False, capture_output=True
        ).returncode
        == 0
    )


def ensure_postgres() -> None:
    """Start the local PostgreSQL service when it is down, then create the bench database."""
    if not _pg_ready():
        starter = ["service", "postgresql", "start"]
        if shutil.which("sudo") and os.geteuid() != 0:
            starter = ["sudo", *starter]
        subprocess.run(starter, check=False)
        for _ in range(30):
            if _pg_ready():
                break
            time.sleep(1)
        else:
            raise SystemExit(f"PostgreSQL does not answer on {PG_HOST}:5432.")
    exists = subprocess.run(
        [
            "psql",
            "-h",
            PG_HOST,
            "-U",
            PG_USER,
            "-d",
            "postgres",
            "-Atc",
            f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if exists != "1":
        subprocess.run(["createdb", "-h", PG_HOST, "-U", PG_USER, DB_NAME], check=True)


def _redis_ready() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def ensure_redis() -> None:
    """Start the local Redis service when it is down (throttle counters and the broker)."""
    if _redis_ready():
        return
    starter = ["service", "redis-server", "start"]
    if shutil.which("sudo") and os.geteuid() != 0:
        starter = ["sudo", *starter]
    subprocess.run(starter, check=False)
    for _ in range(20):
        if _redis_ready():
            return
        time.sleep(0.5)
    raise SystemExit(f"Redis does not answer at {REDIS_URL}.")


def apply() -> None:
    os.environ.update(bench_env())

"""`make bench` (`python -m bench`): seed N leads on PostgreSQL, measure, print one table.

Options: --leads N (default 1,000,000), --seconds per load run, --reuse (keep a database
already seeded to N), --only pages|http|sweep|outbox (one part; repeatable), --json PATH (default
var/bench/latest.json).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from bench import environment
from bench.servers import WORKERS

PARTS = ("pages", "http", "sweep", "outbox")

BASE_DIR = Path(__file__).resolve().parent.parent


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--leads", type=int, default=1_000_000, help="N leads to seed")
    parser.add_argument("--small", type=int, default=10_000, help="the small data set")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each load run")
    parser.add_argument("--concurrency", type=int, default=WORKERS, help="load connections")
    parser.add_argument("--batches", type=int, default=5, help="batches of 1,000 to post")
    parser.add_argument("--repeats", type=int, default=30, help="requests per page measure")
    parser.add_argument("--reuse", action="store_true", help="keep leads already seeded")
    parser.add_argument(
        "--only",
        action="append",
        choices=PARTS,
        help="measure only this part (repeatable; default: all of them)",
    )
    parser.add_argument("--json", type=Path, default=BASE_DIR / "var" / "bench" / "latest.json")
    args = parser.parse_args()
    args.only = set(args.only or PARTS)
    return args


def main() -> None:
    args = parse()
    environment.ensure_postgres()
    environment.ensure_redis()
    environment.apply()
    env = environment.bench_env()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, check=True
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        check=True,
    )
    subprocess.run([sys.executable, "-m", "bench.bare"], cwd=BASE_DIR, check=True)
    import django

    django.setup()
    from bench import run

    rows = run.everything(args, env)
    from bench.report import machine, render, write_json

    header = {
        **machine(),
        "N": f"{args.leads:,}",
        "load": f"{args.seconds:.0f}s x "
        f"{args.concurrency} connections, gunicorn {WORKERS} sync workers",
    }
    print(render(rows, header))
    write_json(args.json, rows, header)
    print(f"\nJSON: {args.json}")


if __name__ == "__main__":
    main()

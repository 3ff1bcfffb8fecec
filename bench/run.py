"""The measurements, in order: pages at the small size and at N, HTTP ingest and list
against the bare endpoints, batch ingest against raw inserts, the sweep against the bare
UPDATE, then resident memory."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime

from django.conf import settings
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench import ceilings, seed, servers
from bench.outbox import outbox_rows
from bench.pages import (
    BESIDE_RAW_SQL,
    PLAIN_LIST_ROW,
    REPORT_ROWS,
    SEARCH_ROW,
    measure_pages,
    signed_in,
)
from bench.report import Row, fmt, ratio, verdict
from bench.servers import BARE_PORT, PRODUCT_PORT, WORKERS
from crm.keys import api_key_create
from crm.models import ApiScope, OutboxMessage
from leads.pagination import PAGE_SIZE
from sla.models import ClockState, SlaClock
from sla.sweep import SweepResult, sla_sweep

LEAD_BODY = json.dumps(
    {
        "email": "ingest{n}@bench.example",
        "first_name": "Ada",
        "last_name": "Bench",
        "company": "Bench Inc",
        "source": "bench",
        "external_id": "ingest-{n}",
    }
)
# The leads list page under load, and its ceiling: a bare ListView of the same rows.
LIST_FILTER = "stage=qualified&owner={owner}"
BARE_BODY = json.dumps(
    {
        "email": "bare{n}@bench.example",
        "first_name": "Ada",
        "last_name": "Bench",
        "company": "Bench Inc",
        "source": "bench",
        "external_id": "bare-{n}",
    }
)


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def raw_replay_ms(path: str, client: Client) -> float:
    """Run the SQL a page issued, straight on a cursor: the floor under that page."""
    reset_queries()  # the log keeps the last 9,000 queries: captured from empty, none is lost
    with CaptureQueriesContext(connection) as captured:
        client.get(path)
    statements = [q["sql"] for q in captured.captured_queries]
    timings = []
    for _ in range(5):
        began = time.perf_counter()
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                if cursor.description:
                    cursor.fetchall()
        timings.append(time.perf_counter() - began)
    return statistics.median(timings) * 1000


def _group_by_ms() -> float:
    """One GROUP BY over every lead (median of three): the reference the reports are held to
    at N."""
    timings = []
    with connection.cursor() as cursor:
        for _ in range(3):
            began = time.perf_counter()
            cursor.execute("SELECT stage, count(*) FROM leads_lead GROUP BY stage")
            cursor.fetchall()
            timings.append((time.perf_counter() - began) * 1000)
    return statistics.median(timings)


def page_rows(
    size: int, ref: seed.Reference, repeats: int, label: str, *, big: bool = False
) -> tuple[list[Row], dict]:
    """The pages at `size` leads; at N (`big`) the reports beside one GROUP BY."""
    rows = []
    found = {}
    group_ms = _group_by_ms()
    for timing in measure_pages(ref.manager, repeats=repeats):
        found[timing.name] = timing
        raw = {"median_ms": timing.median_ms, "p95_ms": timing.p95_ms, "queries": timing.queries}
        value = timing.note or (
            f"median {fmt(timing.median_ms, ' ms')}, p95 {fmt(timing.p95_ms, ' ms')}, "
            f"{timing.queries} queries"
        )
        if timing.note and timing.median_ms is not None:
            value = f"{timing.note}: median {fmt(timing.median_ms, ' ms')}"
        row = Row(f"pages at {label} leads", timing.name, value, raw=raw)
        limit = BESIDE_RAW_SQL.get(timing.name)
        if big and timing.name in REPORT_ROWS and timing.median_ms is not None:
            row.ceiling = f"one GROUP BY over all leads {fmt(group_ms, ' ms')}"
            row.ratio = ratio(timing.median_ms, group_ms, higher_is_better=False)
            row.target = "<= 1x GROUP BY"
            row.verdict = verdict(timing.median_ms <= group_ms)
        elif limit and timing.median_ms is not None:
            floor = raw_replay_ms(timing.path, signed_in(timing.user or ref.manager))
            row.ceiling = f"its SQL replayed raw {fmt(floor, ' ms')}"
            row.ratio = ratio(timing.median_ms, floor, higher_is_better=False)
            # The dashboard's other target, <= 50 ms, is for figures read from kept counters;
            # it computes its aggregates per request, so only the ratio applies.
            row.target = f"<= {limit:g}x raw"
            row.verdict = verdict(timing.median_ms <= limit * floor)
            raw["raw_sql_ms"] = floor
        rows.append(row)
    _beside_the_plain_list(rows, found)
    rows.append(
        Row(
            f"pages at {label} leads",
            "raw GROUP BY stage (reference)",
            fmt(group_ms, " ms"),
            raw={"ms": group_ms},
        )
    )
    return rows, found


def _beside_the_plain_list(rows: list[Row], found: dict) -> None:
    """Each search is judged against the plain filtered list of the same run (issue target:
    at most twice its time)."""
    plain = found.get(PLAIN_LIST_ROW)
    if plain is None or plain.median_ms is None:
        return
    for row in rows:
        timing = found.get(row.measure)
        if not row.measure.startswith(SEARCH_ROW.format("")) or timing is None:
            continue
        if timing.median_ms is None:
            continue
        row.ceiling = f"plain filtered list {fmt(plain.median_ms, ' ms')}"
        row.ratio = ratio(timing.median_ms, plain.median_ms, higher_is_better=False)
        row.target = "<= 2x plain list"
        row.verdict = verdict(timing.median_ms <= 2 * plain.median_ms)


def ingest_rows(args: argparse.Namespace, env: dict[str, str], ref: seed.Reference) -> list[Row]:
    issued = api_key_create(
        actor=None,
        name=f"bench-{int(time.time())}",
        scopes=[ApiScope.LEADS_WRITE, ApiScope.LEADS_READ],
    )
    api_headers = {"Authorization": f"Bearer {issued.raw_key}", "Content-Type": "application/json"}
    client = Client()
    client.force_login(ref.manager)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    owner_id = ref.reps[0]
    base = {
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "requests": 50_000,
        "warmup": 3,
        "first": int(time.time() * 1000) % 10**9 * 100,
    }
    rows: list[Row] = []
    _log("HTTP: product under gunicorn")
    with servers.gunicorn("crm.wsgi:application", PRODUCT_PORT, WORKERS, env) as product:
        create = servers.load(
            {
                **base,
                "port": PRODUCT_PORT,
                "method": "POST",
                "path": "/api/v1/leads/",
                "headers": api_headers,
                "body": LEAD_BODY,
            }
        )
        listing = servers.load(
            {
                **base,
                "port": PRODUCT_PORT,
                "method": "GET",
                "path": f"/leads/?{LIST_FILTER.format(owner=owner_id)}",
                "headers": {"Cookie": cookie},
                "ok": [200],
            }
        )
        batch = servers.load(
            {
                "concurrency": 1,
                "seconds": 120,
                "requests": args.batches,
                # As many warm-up requests as the other loads send over all their
                # connections: each worker's first batch also builds what every later one
                # reuses (the item checker's fields, the validators' patterns, prepared
                # statements), and a sync worker takes whichever connection comes next.
                "warmup": base["warmup"] * base["concurrency"],
                "first": base["first"] + 1,
                "port": PRODUCT_PORT,
                "method": "POST",
                "path": "/api/v1/leads/batch/",
                "headers": api_headers,
                "body": _batch_body(1000),
            }
        )
        web_rss = product.worker_rss_mb()
    _log("HTTP: bare DRF endpoint under gunicorn")
    with servers.gunicorn("bench.bare.wsgi:application", BARE_PORT, WORKERS, env):
        bare_create = servers.load(
            {
                **base,
                "port": BARE_PORT,
                "method": "POST",
                "path": "/leads/",
                "body": BARE_BODY,
                "headers": {"Content-Type": "application/json"},
            }
        )
        bare_rows = servers.load(
            {
                **base,
                "port": BARE_PORT,
                "method": "GET",
                "path": f"/list/?{LIST_FILTER.format(owner=owner_id)}&rows={PAGE_SIZE}",
                "ok": [200],
            }
        )
    section = "HTTP through gunicorn (4 sync workers, loopback)"
    rows.append(
        Row(
            section,
            "single-lead ingest POST /api/v1/leads/",
            f"{fmt(create['rate'], '/s')}, p50 {fmt(create['p50_ms'], ' ms')}, "
            f"p99 {fmt(create['p99_ms'], ' ms')}" + _errors(create),
            f"bare DRF create {fmt(bare_create['rate'], '/s')}, "
            f"p99 {fmt(bare_create['p99_ms'], ' ms')}",
            ratio(create["rate"], bare_create["rate"], higher_is_better=True),
            ">= 60%, p99 <= 100 ms",
            verdict(create["rate"] >= 0.6 * bare_create["rate"] and create["p99_ms"] <= 100),
            raw={"product": create, "bare": bare_create},  # type: ignore[dict-item]
        )
    )
    rows.append(
        Row(
            section,
            f"leads list page ({PAGE_SIZE} rows, filtered)",
            f"{fmt(listing['rate'], '/s')}, p99 {fmt(listing['p99_ms'], ' ms')}" + _errors(listing),
            f"bare ListView of the same rows {fmt(bare_rows['rate'], '/s')}" + _errors(bare_rows),
            ratio(listing["rate"], bare_rows["rate"], higher_is_better=True),
            ">= 60%",
            verdict(listing["rate"] >= 0.6 * bare_rows["rate"]),
            raw={"product": listing, "bare": bare_rows},  # type: ignore[dict-item]
        )
    )
    _log("batch ceilings: bulk_create, multi-row INSERT, COPY")
    inserts = ceilings.insert_rates(1000 * max(1, args.batches))
    batch_rate = batch["rate"] * 1000
    rows.append(
        Row(
            "batch ingest (1,000 items, de-duplication, history, clocks)",
            "POST /api/v1/leads/batch/",
            f"{fmt(batch_rate, ' leads/s')}" + _errors(batch),
            f"bulk_create {fmt(inserts['bulk_create'], '/s')}, multi-row INSERT "
            f"{fmt(inserts['multirow_insert'], '/s')}, COPY {fmt(inserts['copy'], '/s')}",
            ratio(batch_rate, inserts["copy"], higher_is_better=True) + " of COPY",
            ">= 25% of COPY",
            verdict(batch_rate >= 0.25 * inserts["copy"]),
            raw={"leads_per_s": batch_rate, **inserts},
        )
    )
    rows.append(
        Row(
            "memory after the run",
            "web worker resident (largest gunicorn worker)",
            fmt(web_rss, " MB"),
            target="<= 150 MB",
            verdict=verdict(web_rss <= 150),
            raw={"mb": web_rss},
        )
    )
    return rows


def _batch_body(size: int) -> str:
    items = [
        {
            "email": f"batch{{n}}-{i}@bench.example",
            "first_name": "Bo",
            "last_name": "Batch",
            "source": "bench-batch",
            "external_id": f"batch-{{n}}-{i}",
        }
        for i in range(size)
    ]
    # One in fifty repeats an earlier email: the de-duplication has work to do.
    for i in range(0, size, 50):
        if i:
            items[i]["email"] = items[i - 1]["email"]
    return json.dumps({"items": items})


def _errors(result: dict) -> str:
    return (
        f" ({sum(result['errors'].values())} errors: {result['errors']})"
        if result["errors"]
        else ""
    )


def sweep_rows(n: int) -> list[Row]:
    section = f"SLA sweep among {n:,} leads"
    rows = []
    now = timezone.now()
    running = SlaClock.objects.filter(state=ClockState.RUNNING).count()
    idle = []
    for _ in range(20):
        began = time.perf_counter()
        sla_sweep(now=now)
        idle.append((time.perf_counter() - began) * 1000)
    idle_ms = statistics.median(idle)
    rows.append(
        Row(
            section,
            f"idle tick ({running:,} clocks running)",
            fmt(idle_ms, " ms", 2),
            target="<= 2 ms",
            verdict=verdict(idle_ms <= 2),
            raw={"ms": idle_ms},
        )
    )
    for due, rounds in ((1000, 3), (100_000, 1)):
        due = min(due, running // 2)
        # The bare UPDATE is the best of three; a short sweep gets three rounds too (fresh due
        # clocks each time) and the round with the median ratio is shown.
        trials = sorted(
            (_due_round(due, timezone.now()) for _ in range(rounds)),
            key=lambda t: (t[0] - t[1]) / t[2],
        )
        took, notify_s, bare, result, messages, ids = trials[len(trials) // 2]
        # Flagging, with one outbox fan-out per breach, is judged against the bare UPDATE.
        # Expanding a fan-out into each recipient's delivery is the outbox's job, timed in the
        # outbox part ("breaches' fan-outs expanded"). The notify step is timed apart: on
        # PostgreSQL it only queues breaches recorded unprocessed (outside the sweep).
        flag_s = took - notify_s
        ok = flag_s <= 5 * bare if due <= 1000 else flag_s <= 5.0
        rows.append(
            Row(
                section,
                # Flagged: clocks breached, with their breach rows, history and fan-outs.
                f"{len(ids):,} due: flagged; breach rows, history, {messages:,} fan-outs written",
                fmt(flag_s * 1000, " ms"),
                f"bare UPDATE {fmt(bare * 1000, ' ms')}",
                ratio(flag_s, bare, higher_is_better=False),
                "<= 5x bare" if due <= 1000 else "<= 5 s",
                verdict(ok),
                raw={
                    "seconds": took,
                    "flag_seconds": flag_s,
                    "notify_seconds": notify_s,
                    "bare_seconds": bare,
                    "due": len(ids),
                    "flagged": result.breached,
                    "notified": result.notified,
                    "outbox_messages": messages,
                },
            )
        )
        rows.append(
            Row(
                section,
                "  then the notify step (breaches left unprocessed)",
                fmt(notify_s * 1000, " ms"),
                target="(measured apart)",
            )
        )
        rows.append(
            Row(section, "  total to clear (flagged, fan-outs queued)", fmt(took * 1000, " ms"))
        )
    return rows


def _due_round(due: int, now: datetime) -> tuple[float, float, float, SweepResult, int, list[int]]:
    """Bring `due` clocks due, time the bare UPDATE over them, then clear them with the sweep:
    (sweep seconds, of which the notify step, bare seconds, what was done, outbox rows queued,
    ids)."""
    ids = ceilings.make_due(due, now)
    bare = ceilings.bare_sweep_seconds(now)
    queued = OutboxMessage.objects.count()
    took, notify_s, result = _clear(now)
    return took, notify_s, bare, result, OutboxMessage.objects.count() - queued, ids


def _clear(now: datetime) -> tuple[float, float, SweepResult]:
    """Sweep until nothing is left to flag or notify: (seconds in all, seconds in the notify
    step, what was done). The sweep flags first, then runs the notify step
    (`sla.sweep.breaches_notify`: one outbox fan-out per breach), timed here on its own."""
    import sla.sweep

    real_notify = sla.sweep.breaches_notify
    notify_seconds = 0.0

    def timed_notify(**kwargs: object) -> int:
        nonlocal notify_seconds
        began = time.perf_counter()
        try:
            return real_notify(**kwargs)  # type: ignore[arg-type]
        finally:
            notify_seconds += time.perf_counter() - began

    sla.sweep.breaches_notify = timed_notify  # type: ignore[assignment]
    total = SweepResult()
    try:
        began = time.perf_counter()
        while True:
            result = sla_sweep(now=now)
            total.breached += result.breached
            total.at_risk += result.at_risk
            total.notified += result.notified
            if not (result.breached or result.at_risk or result.notified):
                break
        return time.perf_counter() - began, notify_seconds, total
    finally:
        sla.sweep.breaches_notify = real_notify


def celery_row(env: dict[str, str]) -> Row:
    from crm.celery import app

    with servers.celery_worker(env) as worker:
        app.send_task("sla.tasks.sweep")
        time.sleep(5)
        rss = servers.rss_mb(worker.pid)
    return Row(
        "memory after the run",
        "Celery worker resident (solo pool, after a sweep task)",
        fmt(rss, " MB"),
        raw={"mb": rss},
    )


def everything(args: argparse.Namespace, env: dict[str, str]) -> list[Row]:
    now = timezone.now()
    if not args.reuse:
        _log("reset the bench tables")
        seed.reset()
    ref = seed.reference_data(now)
    rows: list[Row] = []
    small = min(args.small, args.leads)
    took = seed.grow_to(small, ref, now) if seed.seeded_count() < small else 0.0
    _log(f"seeded {small:,} leads in {took:.1f}s")
    parts = args.only
    if "pages" in parts and seed.seeded_count() <= small:
        rows += page_rows(small, ref, args.repeats, f"{small:,}")[0]
    took = seed.grow_to(args.leads, ref, now)
    _log(f"seeded {args.leads:,} leads in {took:.1f}s")
    if "pages" in parts:
        rows += _big_page_rows(args, ref, rows, small)
    if "http" in parts:
        _log("HTTP load")
        rows += ingest_rows(args, env, ref)
    if "outbox" in parts:
        _log("outbox backlog")
        rows += outbox_rows(ref.reps + ref.marketers)
    if "sweep" in parts:
        _log("sweep")
        rows += sweep_rows(args.leads)
        rows.append(celery_row(env))
    return rows


def _big_page_rows(
    args: argparse.Namespace, ref: seed.Reference, rows: list[Row], small: int
) -> list[Row]:
    """The pages at N, each query count checked against the same page at the small size."""
    big_rows, found = page_rows(args.leads, ref, args.repeats, f"{args.leads:,}", big=True)
    small_rows = {r.measure: r for r in rows if r.section.startswith(f"pages at {small:,}")}
    for row in big_rows:
        before = small_rows.get(row.measure)
        if before and "queries" in row.raw and row.raw["queries"] is not None:
            same = before.raw.get("queries") == row.raw["queries"]
            row.target = row.target or "queries same as at small N"
            row.verdict = row.verdict or verdict(same)
    api_page = found.get("API leads list (page of 100)")
    if api_page and api_page.median_ms:
        big_rows.append(
            Row(
                f"pages at {args.leads:,} leads",
                "API page of 100 vs peers (500-600 ms)",
                fmt(api_page.median_ms, " ms"),
                "peer 500 ms",
                f"{500 / api_page.median_ms:.0f}x faster",
                ">= 10x faster",
                verdict(api_page.median_ms <= 50),
            )
        )
    return big_rows

"""Server time and SQL queries per request, in process: Django's test Client against the
bench database, every query captured.

Paths come from the URL names, so a renamed or missing page stops the bench with an error
instead of printing a row of "n/a" (the first bench tables said "breach report: n/a" because
they ran on a branch that did not have that page yet)."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.models import User
from leads.models import Lead
from leads.pagination import PAGE_SIZE

PAGE_BUDGET_SECONDS = 20.0


@dataclass
class PageTiming:
    name: str
    path: str
    median_ms: float | None
    p95_ms: float | None
    queries: int | None
    note: str = ""
    user: User | None = None  # who read the page (its raw replay signs in as them)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


# What people type into the search (bench/seed.py's names: First{n % 1000} Last{n % 7919},
# Company {n % 9973}, lead{n}@company{n % 9973}.example): the middle of a surname, the start of
# an e-mail, a company name and a term no lead holds. Row name -> `q`.
SEARCHES = {
    "name substring": "ast791",
    "e-mail prefix": "lead4242",
    "company name": "company 4711",
    "no hits": "zzqxj",
}
SEARCH_ROW = f"leads search ({PAGE_SIZE}): {{}}"
PLAIN_LIST_ROW = f"leads list ({PAGE_SIZE}, filtered)"
REVIEW_ROW = "joint review (last full week)"
MY_WORK_REP_ROW = "My work (a sales rep's)"
MY_WORK_MANAGER_ROW = "My work (a manager's)"
DUE_LIST_ROW = f"leads list ({PAGE_SIZE}, sorted by due)"
BREACH_ROW = "breach report"
# Pages judged against their own SQL replayed raw on a cursor, and the ratio each may reach:
# the managers' reports 1.5x; My work and the list by due at most twice their SQL.
BESIDE_RAW_SQL = {
    "dashboard": 1.5,
    BREACH_ROW: 1.5,
    REVIEW_ROW: 1.5,
    MY_WORK_REP_ROW: 2.0,
    MY_WORK_MANAGER_ROW: 2.0,
    DUE_LIST_ROW: 2.0,
}
# At N the reports are judged against one GROUP BY over every lead of the same run instead:
# what a page reading kept figures (not aggregating history per view) should stay under.
REPORT_ROWS = ("dashboard", BREACH_ROW, REVIEW_ROW)


def pages_to_measure(manager: User) -> list[tuple[str, str, User]]:
    """(row name, path, reader): dashboard, My work of a sales rep (the one owning the first
    qualified lead, so their queue is not empty) and of a manager, a filtered list page, the
    list most urgent first, the list searched four ways, a page of 100, a detail, breaches."""
    sample = Lead.objects.filter(stage="qualified").order_by("id").values_list("id", "owner_id")
    lead_id, owner_id = sample.first() or (Lead.objects.order_by("id").first().pk, None)
    rep = User.objects.filter(pk=owner_id).first() or manager
    return [
        ("dashboard", reverse("dashboard"), manager),
        (MY_WORK_REP_ROW, reverse("my_work"), rep),
        (MY_WORK_MANAGER_ROW, reverse("my_work"), manager),
        (PLAIN_LIST_ROW, f"/leads/?stage=qualified&owner={owner_id}", manager),
        (f"leads list ({PAGE_SIZE}, open, all owners)", "/leads/?is_open=true", manager),
        (DUE_LIST_ROW, "/leads/?ordering=due", manager),
        *(
            (SEARCH_ROW.format(name), f"/leads/?{urlencode({'q': term})}", manager)
            for name, term in SEARCHES.items()
        ),
        ("API leads list (page of 100)", "/api/v1/leads/?page_size=100", manager),
        ("lead detail", f"/leads/{lead_id}/", manager),
        (BREACH_ROW, reverse("sla:breaches"), manager),
        (REVIEW_ROW, reverse("sla:review"), manager),
    ]


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def measure_pages(manager: User, *, repeats: int) -> list[PageTiming]:
    clients: dict[int, Client] = {}
    results = []
    for name, path, reader in pages_to_measure(manager):
        client = clients.get(reader.pk) or clients.setdefault(reader.pk, signed_in(reader))
        timings: list[float] = []
        queries = 0
        status = 0
        budget = time.perf_counter() + PAGE_BUDGET_SECONDS
        for attempt in range(repeats + 1):
            if attempt > 3 and time.perf_counter() > budget:
                break  # a slow page gets fewer samples, so the default N stays in time
            # The log holds the last 9,000 queries; captured from an empty one, none is lost.
            reset_queries()
            with CaptureQueriesContext(connection) as captured:
                began = time.perf_counter()
                response = client.get(path)
                took = time.perf_counter() - began
            status = response.status_code
            if attempt:  # the first request warms caches and connections
                timings.append(took * 1000)
                queries = len(captured)
        note = "" if status == 200 else f"HTTP {status}"
        results.append(
            PageTiming(name, path, statistics.median(timings), _p95(timings), queries, note, reader)
        )
    return results

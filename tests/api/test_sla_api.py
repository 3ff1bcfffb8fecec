"""The SLA side of the API: reads with filters, manager-only writes, CSV, live numbers."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import ApiScope, Notification
from sla.models import Breach, BusinessCalendar, SlaPolicy, WebhookEndpoint
from tests.api.sla_world import build_sla_world, notify

pytestmark = pytest.mark.django_db

SLA_READER = [ApiScope.SLA_READ]


@pytest.fixture
def world(manager, marketer, sales_rep, make_lead):
    return build_sla_world(
        manager=manager, marketer=marketer, sales_rep=sales_rep, make_lead=make_lead
    )


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_it_filters_clocks_by_the_state_a_page_shows(key_client, world) -> None:
    client = key_client(SLA_READER)

    breached = client.get("/api/v1/clocks/?state=breached").json()["results"]
    running = client.get("/api/v1/clocks/?state=running").json()["results"]

    assert {c["lead"] for c in breached} == {lead.pk for lead in world.breached + world.past_due}
    past_due = next(c for c in breached if c["lead"] == world.past_due[0].pk)
    assert (past_due["state"], past_due["shown_state"]) == ("running", "breached")
    assert [c["lead"] for c in running] == [world.running[0].pk]
    assert client.get("/api/v1/clocks/?state=at_risk").json()["results"] == []


def test_it_filters_clocks_by_lead_policy_owner_and_team(key_client, world, sales_rep) -> None:
    client = key_client(SLA_READER)
    lead = world.running[0]

    assert len(ids(client.get(f"/api/v1/clocks/?lead={lead.pk}"))) == 1
    assert len(ids(client.get(f"/api/v1/clocks/?policy={world.policy.pk}&team=sales"))) == 4
    assert len(ids(client.get(f"/api/v1/clocks/?owner={sales_rep.pk}"))) == 4
    assert ids(client.get("/api/v1/clocks/?team=marketing")) == set()
    unknown = client.get("/api/v1/clocks/?state=late")
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["pointer"] == "/state"


def test_it_lists_breaches_with_filters(key_client, world, sales_rep) -> None:
    client = key_client(SLA_READER)
    all_ids = set(Breach.objects.values_list("id", flat=True))
    assert len(all_ids) == 2

    assert ids(client.get("/api/v1/breaches/")) == all_ids
    assert ids(client.get(f"/api/v1/breaches/?owner={sales_rep.pk}&team=sales")) == all_ids
    assert ids(client.get(f"/api/v1/breaches/?policy={world.policy.pk}")) == all_ids
    assert ids(client.get("/api/v1/breaches/?acknowledged=true")) == set()
    assert ids(client.get("/api/v1/breaches/?since=2100-01-01T00:00:00Z")) == set()
    assert ids(client.get("/api/v1/breaches/?until=2100-01-01T00:00:00Z")) == all_ids
    assert client.get("/api/v1/breaches/?acknowledged=yes").status_code == 400


def test_a_manager_acknowledges_a_breach_once(as_user, manager, sales_rep, world) -> None:
    breach = Breach.objects.first()
    url = f"/api/v1/breaches/{breach.pk}/acknowledge/"

    refused = as_user(sales_rep).post(url, {"note": "Sorry"}, format="json")
    done = as_user(manager).post(url, {"note": "Reassigned the queue"}, format="json")
    again = as_user(manager).post(url, {"note": "Twice"}, format="json")
    empty = as_user(manager).post(
        f"/api/v1/breaches/{Breach.objects.last().pk}/acknowledge/", {"note": " "}, format="json"
    )

    assert refused.status_code == 403
    assert done.status_code == 200
    assert done.json()["acknowledged_by"]["id"] == manager.pk
    assert done.json()["acknowledgement_note"] == "Reassigned the queue"
    assert again.status_code == 409
    assert empty.status_code == 400
    assert empty.json()["errors"][0]["pointer"] == "/note"


def test_a_key_needs_manage_to_acknowledge(key_client, world) -> None:
    breach = Breach.objects.first()
    response = key_client(SLA_READER).post(
        f"/api/v1/breaches/{breach.pk}/acknowledge/", {"note": "x"}, format="json"
    )
    assert response.status_code == 403
    assert "manage" in response.json()["detail"]


def test_it_exports_breaches_as_csv_with_the_list_filters(key_client, world) -> None:
    client = key_client(SLA_READER)

    response = client.get("/api/v1/breaches/export/?team=sales")
    none = client.get("/api/v1/breaches/export/?acknowledged=true")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    content = b"".join(response.streaming_content)
    assert content.startswith(b"\xef\xbb\xbfbreach_id,")  # spreadsheets then read UTF-8
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][0] == "breach_id"
    assert {int(r[0]) for r in rows[1:]} == set(Breach.objects.values_list("id", flat=True))
    assert (
        len(list(csv.reader(io.StringIO(b"".join(none.streaming_content).decode("utf-8-sig")))))
        == 1
    )
    assert client.get("/api/v1/breaches/export/?team=nobody").status_code == 400


def test_it_shows_commitments_with_live_progress(
    key_client, manager, marketer, sales_rep, make_lead
):
    build_sla_world(
        manager=manager, marketer=marketer, sales_rep=sales_rep, make_lead=make_lead, breached=0
    )
    rows = key_client(SLA_READER).get("/api/v1/commitments/").json()["results"]

    assert len(rows) == 1
    progress = rows[0]["progress"]
    assert progress["qualified"] == 2  # the two hand-offs of the last two hours
    assert progress["accepted"] == 0
    assert progress["met"] is False


def test_it_reports_compliance_by_team_and_refuses_unknown_groupings(key_client, world) -> None:
    client = key_client(SLA_READER)

    rows = client.get("/api/v1/metrics/sla-compliance/?group_by=team").json()
    bad = client.get("/api/v1/metrics/sla-compliance/?group_by=planet")

    assert rows == [
        {
            "key": "sales",
            "label": "Sales",
            "met": 0,
            "breached": 3,
            "total": 3,
            "compliance_percent": 0.0,
            "median_time_to_goal_seconds": None,
        }
    ]
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["pointer"] == "/group_by"
    for group in ("rep", "policy", "week"):
        assert client.get(f"/api/v1/metrics/sla-compliance/?group_by={group}").status_code == 200


def test_managers_write_calendars_and_policies(as_user, manager, sales_rep) -> None:
    calendar_body = {
        "name": "Berlin office",
        "timezone": "Europe/Berlin",
        "weekly_hours": {"0": [["09:00", "17:00"]]},
        "holidays": ["2026-12-24"],
    }
    assert (
        as_user(sales_rep).post("/api/v1/calendars/", calendar_body, format="json").status_code
        == 403
    )
    created = as_user(manager).post("/api/v1/calendars/", calendar_body, format="json")
    assert created.status_code == 201, created.content
    calendar_id = created.json()["id"]
    patched = as_user(manager).patch(
        f"/api/v1/calendars/{calendar_id}/", {"timezone": "Mars/Olympus"}, format="json"
    )
    assert patched.status_code == 400
    assert patched.json()["errors"][0]["pointer"] == "/timezone"

    policy_body = {
        "name": "Touch in 2h",
        "goal": "first_touch",
        "trigger_stage": "qualified",
        "target_seconds": 7200,
        "accountable_team": "sales",
        "calendar": calendar_id,
    }
    assert (
        as_user(sales_rep).post("/api/v1/sla-policies/", policy_body, format="json").status_code
        == 403
    )
    policy = as_user(manager).post("/api/v1/sla-policies/", policy_body, format="json")
    assert policy.status_code == 201, policy.content
    assert policy.json()["target_seconds"] == 7200
    renamed = as_user(manager).patch(
        f"/api/v1/sla-policies/{policy.json()['id']}/", {"target_seconds": 3600}, format="json"
    )
    assert renamed.json()["target_seconds"] == 3600
    assert SlaPolicy.objects.get().calendar == BusinessCalendar.objects.get()


def test_webhook_secrets_are_write_only_and_managers_only(as_user, key_client, manager, sales_rep):
    body = {
        "name": "Ops",
        "url": "https://ops.acme.example/hook",
        "secret": "s3cret-value-123",
        "event_types": ["breach.created"],
    }
    created = as_user(manager).post("/api/v1/webhook-endpoints/", body, format="json")
    listed = as_user(manager).get("/api/v1/webhook-endpoints/")

    assert created.status_code == 201, created.content
    assert "s3cret" not in created.content.decode() + listed.content.decode()
    assert created.json()["has_secret"] is True
    assert WebhookEndpoint.objects.get().secret == "s3cret-value-123"
    assert as_user(sales_rep).get("/api/v1/webhook-endpoints/").status_code == 403
    assert key_client(SLA_READER).get("/api/v1/webhook-endpoints/").status_code == 403


def test_people_read_and_mark_their_own_notifications(as_user, key_client, sales_rep, manager):
    mine = notify(sales_rep, 3)
    notify(manager, 2)
    client = as_user(sales_rep)

    listed = client.get("/api/v1/notifications/").json()["results"]
    marked = client.post("/api/v1/notifications/mark-read/", {"ids": [mine[0].pk]}, format="json")
    unread = client.get("/api/v1/notifications/?unread=true").json()["results"]
    everything = client.post("/api/v1/notifications/mark-read/", {}, format="json")

    assert {n["id"] for n in listed} == {n.pk for n in mine}
    assert marked.json() == {"marked": 1}
    assert len(unread) == 2
    assert everything.json() == {"marked": 2}
    assert Notification.objects.filter(user=manager, read_at__isnull=True).count() == 2
    assert (
        key_client(list(ApiScope.values), manager).get("/api/v1/notifications/").status_code == 403
    )


def test_leads_filter_by_sla_state(key_client, world) -> None:
    client = key_client([ApiScope.LEADS_READ])

    breached = ids(client.get("/api/v1/leads/?sla_state=breached"))
    running = ids(client.get("/api/v1/leads/?sla_state=running"))

    assert breached == {lead.pk for lead in world.breached + world.past_due}
    assert running == {lead.pk for lead in world.running}
    assert ids(client.get("/api/v1/leads/?sla_state=at_risk")) == set()
    assert client.get("/api/v1/leads/?sla_state=late").status_code == 400


def test_the_leads_page_keeps_its_filters_with_sla_state(client, sales_rep, world) -> None:
    client.force_login(sales_rep)
    response = client.get("/leads/?sla_state=breached")
    assert response.status_code == 200


LISTS = [
    "/api/v1/clocks/",
    "/api/v1/clocks/?state=breached",
    "/api/v1/breaches/",
    "/api/v1/commitments/",
    "/api/v1/leads/?sla_state=breached",
    "/api/v1/sla-policies/",
    "/api/v1/notifications/",
]


def test_lists_run_a_constant_number_of_queries(
    as_user, manager, marketer, sales_rep, make_lead
) -> None:
    build_sla_world(
        manager=manager,
        marketer=marketer,
        sales_rep=sales_rep,
        make_lead=make_lead,
        breached=52,
        past_due=2,
        running=1,
        commitments=55,
    )
    notify(manager, 55)
    client = as_user(manager)

    for url in LISTS:
        sep = "&" if "?" in url else "?"
        client.get(f"{url}{sep}page_size=1")
        counts = []
        for size in (5, 50):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(f"{url}{sep}page_size={size}")
            assert response.status_code == 200, response.content
            assert len(response.json()["results"]) == (1 if "policies" in url else size), url
            counts.append(len(queries))
        assert counts[0] == counts[1], url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/api/v1/breaches/?until=0128-02-19T02:18:26%2B22:35", 200),
        ("/api/v1/clocks/?state=running", 200),
        ("/api/v1/leads/?created_after=2026-03-01T00:00:00%2B23:59", 200),
        ("/api/v1/leads/?created_after=0001-01-01T00:00:00%2B10:00", 400),
    ],
)
def test_datetime_filters_with_extreme_offsets_never_fail(key_client, manager, url, expected):
    response = key_client(list(ApiScope.values), manager).get(url)
    assert response.status_code == expected, response.content


def test_a_retried_acknowledgement_replays_the_first_answer(as_user, manager, world) -> None:
    breach = Breach.objects.first()
    client = as_user(manager)
    url = f"/api/v1/breaches/{breach.pk}/acknowledge/"

    first = client.post(url, {"note": "Seen"}, format="json", HTTP_IDEMPOTENCY_KEY="ack-0001-xyz")
    retry = client.post(url, {"note": "Seen"}, format="json", HTTP_IDEMPOTENCY_KEY="ack-0001-xyz")

    assert first.status_code == retry.status_code == 200
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()


def test_notifications_refuse_an_unclear_unread_filter(as_user, sales_rep) -> None:
    response = as_user(sales_rep).get("/api/v1/notifications/?unread=yes")
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "/unread"

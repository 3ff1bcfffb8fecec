"""SLA pages: breach report, notifications, policies, and the SLA parts of shared pages."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.models import Notification, Team
from crm.outbox import outbox_drain
from leads.periods import Period
from leads.services.activities import activity_log
from leads.services.transitions import lead_accept
from sla.demo import seed_sla_demo
from sla.metrics.compute import MetricFilter, clock_figures
from sla.models import Breach, SlaGoal, SlaPolicy
from sla.scorecards import dashboard_clocks
from sla.selectors import compliance_report
from sla.services import breach_acknowledge
from sla.sweep import sla_sweep
from sla.wording import duration_in_words, policy_in_words
from tests.factories import SlaPolicyFactory
from tests.sla.conftest import MONDAY_10AM

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script>"


@pytest.fixture(autouse=True)
def _three_days_after_monday() -> Iterator[None]:
    """Pages read the clock; the data below is built around MONDAY_10AM."""
    with time_machine.travel(MONDAY_10AM + timedelta(days=3), tick=False):
        yield


def _queries(client, url: str, data: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, data or {})
        assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.fixture
def breaches(hand_off, accept_policy):
    """`make(n)`: n leads handed off on Monday and left unanswered, swept a day later."""
    made = iter(range(1_000_000))

    def make(n: int) -> list[Breach]:
        for _ in range(n):
            hand_off(at=MONDAY_10AM + timedelta(minutes=next(made)))
        sla_sweep(now=MONDAY_10AM + timedelta(days=2))
        outbox_drain(now=MONDAY_10AM + timedelta(days=2))
        return list(Breach.objects.order_by("id"))

    return make


# ---------------------------------------------------------------- breach report


def test_it_shows_the_breach_report_to_everyone_signed_in(
    client, breaches, manager, sales_rep, marketer
):
    breaches(1)
    url = reverse("sla:breaches")
    assert client.get(url).status_code == 302  # to the sign-in page
    assert client.get(reverse("sla:breaches_csv")).status_code == 302
    for person in (sales_rep, marketer):
        client.force_login(person)
        assert client.get(url).status_code == 200
        assert client.get(reverse("sla:breaches_csv")).status_code == 200
    client.force_login(manager)
    page = client.get(url).content.decode()
    assert "Accept within 4 business hours" in page
    assert 'id="compliance-week"' in page and 'id="breach-chart-data"' in page
    rep_row = client.get(url).context["reports"][1][2][0]
    assert rep_row.label == sales_rep.display_name


def test_the_breach_report_runs_a_constant_number_of_queries(client, breaches, manager):
    client.force_login(manager)
    breaches(3)
    few = _queries(client, reverse("sla:breaches"))
    breaches(27)
    assert Breach.objects.count() == 30
    assert _queries(client, reverse("sla:breaches")) == few


def test_the_breach_list_pages_by_cursor(client, breaches, manager):
    made = breaches(30)
    client.force_login(manager)
    first = client.get(reverse("sla:breaches")).context["page"]
    assert len(first.breaches) == 25 and first.next_cursor
    rest = client.get(reverse("sla:breaches"), {"after": first.next_cursor}).context["page"]
    assert len(rest.breaches) == 5 and rest.next_cursor is None
    seen = {b.pk for b in first.breaches} | {b.pk for b in rest.breaches}
    assert seen == {b.pk for b in made}


def test_malformed_filters_fall_back_instead_of_failing(client, breaches, manager):
    breaches(2)
    client.force_login(manager)
    for params in (
        {"policy": "abc", "owner": "9" * 40, "since": "yesterday", "team": "<b>"},
        {"after": "not-a-cursor!!"},
        {"kind": "clock", "status": "whatever", "until": "2026-13-45"},
    ):
        response = client.get(reverse("sla:breaches"), params)
        assert response.status_code == 200
        assert client.get(reverse("sla:breaches_csv"), params).status_code == 200


def test_filters_narrow_the_list_and_the_export(client, breaches, manager):
    first, second = breaches(2)
    breach_acknowledge(breach=first, actor=manager, note="Covered by the team lead.")
    client.force_login(manager)
    listed = client.get(reverse("sla:breaches"), {"status": "open"}).context["page"].breaches
    assert [b.pk for b in listed] == [second.pk]
    response = client.get(reverse("sla:breaches_csv"), {"status": "acknowledged"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == [str(first.pk)]
    assert rows[1][-1] == "Covered by the team lead."
    none = client.get(reverse("sla:breaches_csv"), {"team": Team.MARKETING})
    assert len(b"".join(none.streaming_content).decode("utf-8-sig").splitlines()) == 1


def test_a_manager_acknowledges_a_breach_in_place(client, breaches, manager):
    (breach,) = breaches(1)
    client.force_login(manager)
    url = reverse("sla:acknowledge", args=[breach.pk])
    htmx = {"HTTP_HX_REQUEST": "true"}

    refused = client.post(url, {"note": "   "}, **htmx)
    assert refused.status_code == 200 and "Not saved" in refused.content.decode()
    breach.refresh_from_db()
    assert breach.acknowledged_at is None

    done = client.post(url, {"note": f"Rep was out sick. {XSS}"}, **htmx).content.decode()
    assert "Breach acknowledged." in done and f'id="breach-{breach.pk}"' in done
    assert XSS not in done and "&lt;script&gt;alert(1)&lt;/script&gt;" in done
    breach.refresh_from_db()
    assert breach.acknowledged_by == manager

    again = client.post(url, {"note": "twice"}, follow=True).content.decode()
    assert "already acknowledged" in again


def test_a_sales_rep_cannot_acknowledge(client, breaches, sales_rep):
    (breach,) = breaches(1)
    client.force_login(sales_rep)
    response = client.post(reverse("sla:acknowledge", args=[breach.pk]), {"note": "mine"})
    assert response.status_code == 403
    breach.refresh_from_db()
    assert breach.acknowledged_at is None


# ---------------------------------------------------------------- notifications


def test_notifications_list_badge_and_marking_read(client, breaches, sales_rep, manager):
    breaches(2)
    client.force_login(sales_rep)
    page = client.get(reverse("sla:notifications")).content.decode()
    assert 'id="unread-count">2<' in page
    mine = list(Notification.objects.filter(user=sales_rep).order_by("id"))
    theirs = Notification.objects.filter(user=manager).first()

    assert client.post(reverse("sla:notification_read", args=[theirs.pk])).status_code == 404
    client.post(reverse("sla:notification_read", args=[mine[0].pk]))
    assert 'id="unread-count">1<' in client.get(reverse("sla:notifications")).content.decode()
    unread = client.get(reverse("sla:notifications"), {"show": "unread"}).context["notifications"]
    assert [n.pk for n in unread] == [mine[1].pk]

    client.post(reverse("sla:notifications_read_all"))
    assert "unread-count" not in client.get(reverse("sla:notifications")).content.decode()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_notifications_page_runs_a_constant_number_of_queries(client, breaches, sales_rep):
    client.force_login(sales_rep)
    breaches(3)
    few = _queries(client, reverse("sla:notifications"))
    breaches(27)
    assert Notification.objects.filter(user=sales_rep).count() == 30
    assert _queries(client, reverse("sla:notifications")) == few


def test_a_notification_link_is_only_followed_inside_the_app(client, sales_rep):
    now = timezone.now()
    for n, url in enumerate(("javascript:alert(1)", "//evil.example/x", "/\\evil", "/leads/")):
        Notification.objects.create(
            user=sales_rep, kind="t", title=f"T{n} {XSS}", url=url, delivery_key=f"k{n}",
            created_at=now, read_at=now,
        )  # fmt: skip
    client.force_login(sales_rep)
    page = client.get(reverse("sla:notifications")).content.decode()
    assert 'href="javascript:' not in page and 'href="//evil' not in page and "evil" not in page
    assert '<a href="/leads/">T3 &lt;script&gt;' in page
    assert XSS not in page


# ---------------------------------------------------------------- policies in plain words


def test_policies_are_said_in_plain_words(client, accept_policy, opportunity_policy, marketer):
    client.force_login(marketer)
    expected = (
        "Sales accepts or rejects a handed-over lead within 4 business hours (Sales hours, London)."
    )
    assert expected in client.get(reverse("sla:policies")).content.decode()
    definitions = client.get(reverse("leads:definitions")).content.decode()
    assert expected in definitions
    assert "Sales moves a lead in opportunity on, or updates it, within 14 days" in (definitions)
    assert duration_in_words(timedelta(minutes=90), business=True) == "90 business minutes"


def test_a_policy_named_with_a_script_tag_is_shown_as_text(client, manager, hand_off):
    SlaPolicyFactory(actor=manager, name=XSS, target=timedelta(hours=1), now=MONDAY_10AM)
    lead = hand_off()
    sla_sweep(now=MONDAY_10AM + timedelta(days=1))
    client.force_login(manager)
    for url in (
        reverse("sla:policies"),
        reverse("sla:breaches"),
        reverse("leads:definitions"),
        reverse("leads:detail", args=[lead.pk]),
        reverse("dashboard"),
    ):
        page = client.get(url).content.decode()
        assert XSS not in page, url
    assert "&lt;script&gt;" in client.get(reverse("sla:policies")).content.decode()


# ---------------------------------------------------------------- shared pages


def test_the_lead_detail_shows_clocks_in_constant_queries(
    client, manager, hand_off, accept_policy, sales_rep
):
    one = hand_off()
    SlaPolicyFactory(
        actor=manager,
        name="Touch soon",
        goal=SlaGoal.FIRST_TOUCH,
        target=timedelta(hours=8),
        now=MONDAY_10AM,
    )
    three = hand_off()
    lead_accept(lead=three, actor=sales_rep, now=MONDAY_10AM + timedelta(minutes=30))
    assert one.clocks.count() == 1 and three.clocks.count() == 2
    client.force_login(manager)
    few = _queries(client, reverse("leads:detail", args=[one.pk]))
    assert _queries(client, reverse("leads:detail", args=[three.pk])) == few == 13
    page = client.get(reverse("leads:detail", args=[three.pk])).content.decode()
    assert 'data-state="met"' in page and "took 30 min" in page


def test_the_dashboard_stays_constant_as_clocks_grow(client, manager, breaches):
    client.force_login(manager)
    breaches(3)
    few = _queries(client, reverse("dashboard"), {"period": "all"})
    breaches(27)
    page = client.get(reverse("dashboard"), {"period": "all"}).content.decode()
    assert _queries(client, reverse("dashboard"), {"period": "all"}) == few == 13
    assert "SLA clocks needing attention" in page and "Sales scorecard" in page


def test_the_sales_scorecard_counts_compliance_and_median(
    hand_off, accept_policy, touch_policy, sales_rep
):
    quick = hand_off()
    lead_accept(lead=quick, actor=sales_rep, now=MONDAY_10AM + timedelta(hours=1))
    activity_log(lead=quick, actor=sales_rep, kind="call", now=MONDAY_10AM + timedelta(hours=2))
    slow = hand_off(at=MONDAY_10AM + timedelta(minutes=5))
    lead_accept(lead=slow, actor=sales_rep, now=MONDAY_10AM + timedelta(hours=3, minutes=5))
    hand_off(at=MONDAY_10AM + timedelta(minutes=10))  # never answered
    now = MONDAY_10AM + timedelta(days=3)
    every_day = Period(first=None, last=now.date(), zone="UTC")
    values = clock_figures(MetricFilter(period=every_day), now)
    assert values["sla_compliance_accept"] == pytest.approx(66.7)
    assert values["time_to_accept_median"] == timedelta(hours=2)
    assert values["time_to_accept_p90"] == timedelta(hours=3)
    assert values["sla_compliance_first_touch"] == pytest.approx(33.3)
    assert values["time_to_first_touch_median"] == timedelta(hours=2)
    assert (values["sla_decided"], values["sla_missed"]) == (6, 3)
    marketing_only = MetricFilter(period=every_day, team=Team.MARKETING)
    assert clock_figures(marketing_only, now)["sla_decided"] == 0


def test_the_at_risk_saved_view_lists_leads_with_a_clock_at_risk_or_past_due(
    client, hand_off, accept_policy, manager
):
    late = hand_off(at=timezone.now() - timedelta(days=7), company="Late Ltd")
    hand_off(at=timezone.now(), company="Fresh Ltd")
    client.force_login(manager)
    listed = client.get(reverse("leads:list"), {"view": "at_risk"}).context["page"].leads
    assert [lead.pk for lead in listed] == [late.pk]


def test_older_breaches_load_in_place_and_a_refusal_says_why(client, breaches, sales_rep, manager):
    breaches(27)
    client.force_login(manager)
    first = client.get(reverse("sla:breaches")).context["page"]
    more = client.get(
        reverse("sla:breaches"), {"after": first.next_cursor}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert more.count('<tr id="breach-') == 2 and "<html" not in more
    client.force_login(sales_rep)
    read_only = client.get(reverse("sla:breaches")).content.decode()
    assert "awaiting acknowledgement" in read_only and 'class="ack"' not in read_only
    refused = client.post(reverse("sla:acknowledge", args=[first.breaches[0].pk]), {"note": "x"})
    assert refused.status_code == 403
    assert "Only managers acknowledge breaches." in refused.content.decode()


def test_the_demo_calendar_reads_naturally(manager):
    seed_sla_demo(now=MONDAY_10AM)
    words = policy_in_words(SlaPolicy.objects.get(goal=SlaGoal.ACCEPT))
    assert words == (
        "Sales accepts or rejects a handed-over lead within 4 business hours "
        "(Sales working hours, London)."
    )


def test_weeks_are_reported_in_calendar_order(hand_off, accept_policy):
    hand_off(at=MONDAY_10AM - timedelta(days=7))  # week of 23 Feb
    hand_off(at=MONDAY_10AM)  # week of 2 Mar: alphabetically first, chronologically second
    weeks = compliance_report(group_by="week", now=MONDAY_10AM + timedelta(days=3))
    assert [w.key for w in weeks] == ["2026-02-23", "2026-03-02"]


def test_the_dashboard_lists_clocks_about_to_be_missed_before_old_misses(
    hand_off, accept_policy, client, manager
):
    old = hand_off(at=MONDAY_10AM - timedelta(days=7))
    recent = hand_off(at=MONDAY_10AM - timedelta(days=1))
    now = MONDAY_10AM + timedelta(hours=4, minutes=30)  # at risk since 14:00, due at 15:00
    soon = hand_off(at=MONDAY_10AM)
    everything = MetricFilter(period=Period(first=None, last=now.date(), zone="UTC"))
    shown = dashboard_clocks(everything, now)
    counts = (shown.figures["clocks_at_risk"].value, shown.figures["clocks_past_due"].value)
    assert counts == (1, 2)
    assert [c.lead_id for c in shown.clocks] == [soon.pk, recent.pk, old.pk]
    # Flagged by the sweep (breached and at risk), the same clocks count and show the same.
    sla_sweep(now=now)
    flagged = dashboard_clocks(everything, now)
    counts = (flagged.figures["clocks_at_risk"].value, flagged.figures["clocks_past_due"].value)
    assert counts == (1, 2)
    assert [c.lead_id for c in flagged.clocks] == [soon.pk, recent.pk, old.pk]
    assert [c.state for c in flagged.clocks] == ["at_risk", "breached", "breached"]


def test_opening_a_notification_marks_it_read_and_stays_on_the_site(client, sales_rep):
    now = timezone.now()
    inside, outside = (
        Notification.objects.create(
            user=sales_rep, kind="t", title="T", url=url, delivery_key=url, created_at=now
        )
        for url in ("/leads/", "//evil.example/")
    )
    client.force_login(sales_rep)
    opened = client.post(reverse("sla:notification_read", args=[inside.pk]), {"open": "1"})
    assert opened.status_code == 302 and opened["Location"] == "/leads/"
    refused = client.post(reverse("sla:notification_read", args=[outside.pk]), {"open": "1"})
    assert refused["Location"] == reverse("sla:notifications")
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    rep_rows = client.get(reverse("sla:notifications")).content.decode()
    assert 'href="/leads/"' in rep_rows


def test_the_report_covers_recent_weeks_unless_asked_for_more(client, breaches, manager):
    (breach,) = breaches(1)
    with time_machine.travel(MONDAY_10AM + timedelta(weeks=20), tick=False):
        client.force_login(manager)
        assert client.get(reverse("sla:breaches")).context["page"].breaches == []
        export = client.get(reverse("sla:breaches_csv"))
        assert len(b"".join(export.streaming_content).splitlines()) == 1
        wider = client.get(reverse("sla:breaches"), {"since": "2026-01-01"}).context
        assert [b.pk for b in wider["page"].breaches] == [breach.pk]
        assert wider["reports"][0][2][0].breached == 1

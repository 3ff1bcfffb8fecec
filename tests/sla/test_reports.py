"""Breach review and reports: acknowledgement, compliance, breach list and CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from statistics import median

import pytest
from django.utils import timezone

from crm.errors import DomainError
from leads.periods import Period
from leads.services.transitions import lead_accept, lead_hand_off
from sla.metrics.compute import MetricFilter, clock_figures
from sla.models import Breach, SlaClock
from sla.selectors import (
    breach_list,
    breaches_csv,
    clocks_for_lead,
    compliance_figures,
    compliance_report,
    compliance_reports,
)
from sla.services import breach_acknowledge
from sla.sweep import sla_sweep
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.sla.conftest import MONDAY_10AM

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(hand_off, accept_policy, sales_rep, other_sales_rep, marketer):
    """Week 1: two leads, one accepted in 1h, one never. Week 2: one accepted in 3h."""
    quick = hand_off(at=MONDAY_10AM)
    lead_accept(lead=quick, actor=sales_rep, now=MONDAY_10AM + timedelta(hours=1))
    hand_off(at=MONDAY_10AM + timedelta(hours=1))
    week2 = MONDAY_10AM + timedelta(days=7)
    later = hand_off(at=week2)
    lead_accept(lead=later, actor=sales_rep, now=week2 + timedelta(hours=3))
    sla_sweep(now=week2 + timedelta(days=1))
    return quick


def test_compliance_by_policy_rep_team_and_week(history, accept_policy, sales_rep):
    now = MONDAY_10AM + timedelta(days=10)
    (by_policy,) = compliance_report(group_by="policy", now=now)
    assert (by_policy.label, by_policy.met, by_policy.breached) == (accept_policy.name, 2, 1)
    assert by_policy.compliance_percent == pytest.approx(66.7)
    assert by_policy.median_time_to_goal == timedelta(hours=2)

    (by_rep,) = compliance_report(group_by="rep", now=now)
    assert by_rep.label == sales_rep.username
    (by_team,) = compliance_report(group_by="team", now=now)
    assert by_team.key == "sales"
    weeks = compliance_report(group_by="week", now=now)
    assert [(w.met, w.breached) for w in weeks] == [(1, 1), (1, 0)]
    with pytest.raises(ValueError):
        compliance_report(group_by="colour")


def test_acknowledging_a_breach_needs_a_note_and_happens_once(history, manager):
    breach = Breach.objects.get()
    with pytest.raises(DomainError) as refused:
        breach_acknowledge(breach=breach, actor=manager, note="  ")
    assert refused.value.field == "note"

    breach_acknowledge(breach=breach, actor=manager, note="Rep was off sick; covered now.")
    breach.refresh_from_db()
    assert breach.acknowledged_by == manager
    with pytest.raises(DomainError):
        breach_acknowledge(breach=breach, actor=manager, note="again")
    assert list(breach_list(acknowledged=False)) == []
    assert list(breach_list(acknowledged=True, team="sales")) == [breach]


def test_breach_csv_export(history, manager, django_assert_max_num_queries):
    breach = Breach.objects.get()
    breach_acknowledge(breach=breach, actor=manager, note="=HYPERLINK(evil)")
    with django_assert_max_num_queries(2):
        rows = list(csv.reader(io.StringIO("".join(breaches_csv(breach_list())).lstrip("\ufeff"))))
    assert rows[0][:3] == ["breach_id", "kind", "breached_at"]
    assert rows[1][0] == str(breach.pk)
    assert rows[1][-1] == "'=HYPERLINK(evil)"  # never a live formula in a spreadsheet


def test_clocks_for_a_lead_show_their_state(hand_off, accept_policy, touch_policy):
    lead = hand_off()
    clocks = clocks_for_lead(lead_id=lead.pk, now=MONDAY_10AM + timedelta(hours=4, minutes=30))
    assert sorted(c.shown_state for c in clocks) == ["at_risk", "running"]
    later = MONDAY_10AM + timedelta(days=1)
    counts = {s: SlaClock.objects.shown_as(s, later).count() for s in ("breached", "at_risk")}
    assert counts == {"breached": 2, "at_risk": 0}


def _medians_by_hand(group_of) -> dict[object, timedelta]:
    """The report's medians computed the slow, obvious way, from every met clock."""
    times: dict[object, list[timedelta]] = {}
    for clock in SlaClock.objects.filter(met_at__isnull=False):
        times.setdefault(group_of(clock), []).append(clock.met_at - clock.started_at)
    return {group: median(values) for group, values in times.items()}


def test_compliance_reports_come_from_one_query_with_exact_medians(
    hand_off,
    make_lead,
    marketer,
    accept_policy,
    sales_rep,
    other_sales_rep,
    django_assert_num_queries,
):
    # Acceptance after 1..7 hours over two weeks and two reps: odd and even group sizes.
    for n in range(7):
        at = MONDAY_10AM + timedelta(days=7 * (n % 2), minutes=n)
        rep = sales_rep if n % 3 else other_sales_rep
        lead = lead_hand_off(
            lead=make_lead(now=at - timedelta(hours=2)),
            actor=marketer,
            assignee=rep,
            criteria=ALL_REQUIRED_CRITERIA,
            now=at,
        )
        lead_accept(lead=lead, actor=rep, now=at + timedelta(hours=n + 1, minutes=n))
    hand_off(at=MONDAY_10AM + timedelta(hours=2))  # never accepted: breached
    now = MONDAY_10AM + timedelta(days=20)
    with django_assert_num_queries(1):  # PostgreSQL: one grouping set per report
        reports = compliance_reports(now=now)
    by_rep = _medians_by_hand(lambda clock: str(clock.owner_id))
    assert {row.key: row.median_time_to_goal for row in reports["rep"]} == by_rep
    assert len(by_rep) == 2
    weeks = _medians_by_hand(lambda clock: timezone.localtime(clock.started_at).date().isoformat())
    assert [row.median_time_to_goal for row in reports["week"]] == [
        weeks[key] for key in sorted(weeks)
    ]
    (policy,) = reports["policy"]
    assert (policy.met, policy.breached) == (4, 4)  # three accepted late, one never
    assert (
        policy.median_time_to_goal
        == _medians_by_hand(lambda clock: clock.policy_id)[accept_policy.pk]
    )


def test_the_breach_reports_figures_are_the_catalogues(
    hand_off, make_lead, marketer, accept_policy, touch_policy, sales_rep, other_sales_rep
):
    """The breach report reads the catalogue's clock figures from its own groupings of the
    same clocks; for every size of group they equal `clock_figures`."""
    for n in range(11):
        at = MONDAY_10AM + timedelta(days=7 * (n % 3), minutes=n)
        rep = sales_rep if n % 4 else other_sales_rep
        lead = lead_hand_off(
            lead=make_lead(now=at - timedelta(hours=2)),
            actor=marketer,
            assignee=rep,
            criteria=ALL_REQUIRED_CRITERIA,
            now=at,
        )
        if n % 5:
            lead_accept(lead=lead, actor=rep, now=at + timedelta(hours=n % 6, minutes=3 * n))
    now = MONDAY_10AM + timedelta(days=30)
    sla_sweep(now=now)
    scope = MetricFilter(period=Period(first=None, last=now.date(), zone="UTC"))
    _, figures = compliance_figures(now=now, scope=scope)
    expected = clock_figures(scope, now)
    assert figures == expected
    assert expected["sla_decided"] > 0 and expected["time_to_accept_p90"] is not None

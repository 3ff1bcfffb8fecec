"""The joint review's sections on a built week: each figure as the week's data says, and
equal to the metric catalogue's value for the same period and filters."""

from __future__ import annotations

import pytest
import time_machine

from leads.periods import Period
from sla.metrics.compute import MetricFilter, campaign_figures, clock_figures, metrics_summary
from sla.models import ReviewDecision
from sla.review.periods import review_period
from sla.review.sections import joint_review
from tests.metrics.figures import page_figures
from tests.sla.review_world import AFTER, WEEK, build_review_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(manager, marketer, sales_rep, make_lead):
    return build_review_world(
        manager=manager, marketer=marketer, sales_rep=sales_rep, make_lead=make_lead
    )


def test_it_counts_the_week_as_its_data_says(world) -> None:
    review = joint_review(review_period(WEEK, now=AFTER), AFTER)
    m = review.metrics
    assert m["handed_off"].value == 6
    assert m["accepted"].value == 3
    assert m["rejected"].value == 3
    assert m["acceptance_rate"].value == 50.0
    assert m["won"].value == 1 and m["lost"].value == 1 and m["win_rate"].value == 50.0
    assert m["opportunities"].value == 2
    # Six accept clocks: two rejected in time, four accepted, one of them late.
    assert (m["sla_decided"].value, m["sla_met"].value, m["sla_missed"].value) == (6, 5, 1)
    # The late acceptance, and the week before's missed commitment (breached at its end,
    # the first instant of week 48).
    assert m["breaches"].value == 2
    before = {c.now.key: c.before.value for c in review.headline}
    assert before["handed_off"] == 1 and before["sla_compliance"] == 100.0
    change = {c.now.key: c for c in review.headline}
    assert change["handed_off"].shown == "+5" and change["handed_off"].good is True
    assert change["sla_compliance"].shown == "\u221216.7 pts"
    assert change["sla_compliance"].good is False
    assert change["breaches"].shown == "+2" and change["breaches"].good is False


def test_every_figure_equals_the_catalogues_for_the_same_period(world) -> None:
    period = review_period(WEEK, now=AFTER)
    review = joint_review(period, AFTER)
    week, _ = metrics_summary(MetricFilter(period=period.period), AFTER)
    earlier, _ = metrics_summary(MetricFilter(period=period.previous().period), AFTER)
    for change in review.headline:
        assert change.now.value == week[change.now.key], change.now.key
        assert change.before.value == earlier[change.before.key], change.before.key
    for figure in review.sales_goals:
        assert figure.value == week[figure.key], figure.key
    assert review.breach_figures["breaches_unacknowledged"].value == week["breaches_unacknowledged"]
    [policy] = review.policies
    scope = MetricFilter(period=period.period, policy_id=policy.policy_id)
    assert policy.compliance.value == clock_figures(scope, AFTER)["sla_compliance"]
    for row in review.campaigns:
        campaign = row.figures.campaign
        scope = MetricFilter(period=period.period, campaign_id=campaign.pk)
        assert row.compliance.value == clock_figures(scope, AFTER)["sla_compliance"]
        [alone], _ = campaign_figures(scope, [campaign])
        assert dict(row.figures.figures.items()) == dict(alone.figures.items())
    assert sum(g.count for g in review.rejected) == week["rejected"]
    assert sum(g.count for g in review.lost) == week["lost"]


def test_the_feedback_loop_groups_by_reason_campaign_and_persona(world) -> None:
    review = joint_review(review_period(WEEK, now=AFTER), AFTER)
    rejected = [(g.reason, g.campaign, g.persona, g.count) for g in review.rejected]
    assert rejected == [
        ("Too small", "Autumn webinar", "Ops lead", 2),
        ("No budget", "Search ads", "Ops lead", 1),
    ]
    assert [lead["company"] for lead in review.rejected[0].examples] == ["Company 5", "Company 4"]
    assert [(g.reason, g.campaign, g.count) for g in review.lost] == [("Price", "Search ads", 1)]
    criteria = {row.key: (row.handed_off, row.rejected) for row in review.criteria}
    assert criteria["fits-icp"] == (6, 3)
    assert criteria["timeline-known"] == (2, 1)
    # Required criteria are on every lead; the one with the highest rejected share leads.
    assert review.criteria[0].rejected_share == 50.0


def test_the_sla_sections_show_both_directions(world) -> None:
    review = joint_review(review_period(WEEK, now=AFTER), AFTER)
    [commitment] = review.commitments
    assert (commitment.qualified, commitment.target_qualified) == (6, 5)
    assert commitment.status == "met"
    assert {b.kind for b in review.breaches} == {"clock", "commitment"}
    [late] = [b for b in review.breaches if b.kind == "clock"]
    assert late.lead.company == "Company 3"


def test_open_decisions_come_first_until_closed(world) -> None:
    review = joint_review(review_period(WEEK, now=AFTER), AFTER)
    assert [(d.status, d.overdue) for d in review.decisions] == [("open", True), ("closed", False)]
    later = joint_review(review_period("2026-W50", now=AFTER), AFTER)
    assert [d.status for d in later.decisions] == ["open"]
    assert ReviewDecision.objects.count() == 2


def test_the_page_shows_the_same_figures(client, world, marketer) -> None:
    client.force_login(marketer)
    with time_machine.travel(AFTER, tick=False):
        response = client.get("/review/", {"period": WEEK})
    assert response.status_code == 200
    shown = page_figures(response.content.decode())
    review = joint_review(review_period(WEEK, now=AFTER), AFTER)
    for key in ("handed_off", "rejected", "acceptance_rate", "sla_compliance", "breaches", "lost"):
        assert shown[key] == {review.metrics[key].shown}, key
    assert "Too small" in response.content.decode()


def test_the_default_is_the_last_full_week(client, marketer) -> None:
    client.force_login(marketer)
    with time_machine.travel(AFTER, tick=False):
        response = client.get("/review/")
    assert response.context["period"].key == WEEK
    assert response.context["review"].period.period == Period(
        first=response.context["period"].first, last=response.context["period"].last,
        zone="Europe/London",
    )  # fmt: skip

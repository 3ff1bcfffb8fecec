"""Exemptions: the accountable person asks, another manager decides, and compliance reads
raw and adjusted; the breach itself never goes away."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from crm.errors import DomainError
from crm.models import OutboxMessage
from leads.models import LeadEvent, Reason
from leads.periods import Period
from leads.services.transitions import lead_accept
from sla.exemptions import exemption_decide, exemption_request
from sla.metrics.compute import MetricFilter, clock_figures
from sla.models import Breach, BreachExemption
from sla.sweep import sla_sweep
from tests.factories import ManagerFactory
from tests.metrics.figures import page_figures
from tests.sla.conftest import MONDAY_10AM

pytestmark = pytest.mark.django_db
LATER = MONDAY_10AM + timedelta(days=3)


@pytest.fixture
def breach(accept_policy, hand_off, sales_rep) -> Breach:
    """Two hand-offs to the rep: one accepted in time, one never (breached)."""
    kept = hand_off()
    lead_accept(lead=kept.pk, actor=sales_rep, now=MONDAY_10AM + timedelta(hours=1))
    hand_off()
    sla_sweep(now=LATER)
    return Breach.objects.get()


@pytest.fixture
def reason() -> Reason:
    return Reason.objects.get(
        kind=Reason.Kind.EXEMPTION, label="Customer asked to be contacted later"
    )


@pytest.fixture
def second_manager(db):
    return ManagerFactory(username="mo.manager", first_name="Mo")


def _figures() -> dict:
    period = Period(first=MONDAY_10AM.date(), last=LATER.date(), zone="Europe/London")
    return clock_figures(MetricFilter(period=period), LATER)


def test_only_the_accountable_rep_asks(breach, reason, other_sales_rep, manager):
    for someone in (other_sales_rep, manager):
        with pytest.raises(DomainError) as refused:
            exemption_request(actor=someone, breach=breach, reason=reason, note="Not mine")
        assert refused.value.code == "forbidden"


def test_a_request_needs_a_reason_from_the_list_and_a_note(breach, sales_rep, reason):
    lost = Reason.objects.filter(kind=Reason.Kind.LOST).first()
    for bad, field in (
        ({"reason": None}, "reason"),
        ({"reason": lost}, "reason"),
        ({"note": " "}, "note"),
    ):
        values = {"reason": reason, "note": "Asked for next week", **bad}
        with pytest.raises(DomainError) as refused:
            exemption_request(actor=sales_rep, breach=breach, **values)
        assert refused.value.field == field


def test_only_a_manager_decides_and_never_their_own(breach, sales_rep, manager, reason):
    exemption = exemption_request(
        actor=sales_rep, breach=breach, reason=reason, note="Customer asked to call next week"
    )
    with pytest.raises(DomainError) as refused:
        exemption_decide(actor=sales_rep, exemption=exemption, approve=True, note="Fine by me")
    assert refused.value.code == "forbidden"
    # A manager who owns the breach cannot decide it either.
    Breach.objects.filter(pk=breach.pk).update(owner=manager)
    with pytest.raises(DomainError) as refused:
        exemption_decide(actor=manager, exemption=exemption, approve=True, note="Mine, approved")
    assert "own breach" in refused.value.message


def test_an_approved_exemption_adjusts_compliance_and_keeps_the_breach(
    breach, sales_rep, manager, reason
):
    before = _figures()
    assert (before["sla_compliance"], before["sla_compliance_adjusted"]) == (50.0, 50.0)

    exemption = exemption_request(
        actor=sales_rep, breach=breach, reason=reason, note="Customer asked to call next week",
        now=LATER,
    )  # fmt: skip
    assert _figures()["sla_compliance_adjusted"] == 50.0  # asking changes nothing
    exemption_decide(
        actor=manager, exemption=exemption, approve=True, note="Confirmed by e-mail", now=LATER
    )

    after = _figures()
    assert after["sla_compliance"] == 50.0  # the raw figure still counts the breach
    assert after["sla_compliance_adjusted"] == 100.0
    assert after["sla_compliance_accept_adjusted"] == 100.0
    assert after["sla_exempted"] == 1
    assert Breach.objects.filter(pk=breach.pk).exists()
    assert [
        e.changes["exemption"]
        for e in LeadEvent.objects.filter(lead=breach.lead, changes__has_key="exemption").order_by(
            "id"
        )
    ] == ["requested", "approved"]
    told = OutboxMessage.objects.filter(event_type="breach.exemption")
    assert set(told.values_list("recipient_id", flat=True)) == {manager.pk, sales_rep.pk}


def test_a_declined_exemption_changes_no_figure_and_may_be_asked_again(
    breach, sales_rep, manager, reason
):
    exemption = exemption_request(
        actor=sales_rep, breach=breach, reason=reason, note="Wrong number"
    )
    with pytest.raises(DomainError):
        exemption_request(actor=sales_rep, breach=breach, reason=reason, note="Again")
    exemption_decide(actor=manager, exemption=exemption, approve=False, note="We had the number")
    with pytest.raises(DomainError) as refused:
        exemption_decide(actor=manager, exemption=exemption, approve=True, note="Changed my mind")
    assert refused.value.code == "illegal_transition"
    assert _figures()["sla_compliance_adjusted"] == 50.0
    exemption_request(actor=sales_rep, breach=breach, reason=reason, note="Here is the e-mail")
    assert BreachExemption.objects.filter(breach=breach).count() == 2


def test_the_breach_report_shows_raw_and_adjusted_labelled(
    client, breach, sales_rep, manager, second_manager, reason
):
    exemption = exemption_request(actor=sales_rep, breach=breach, reason=reason, note="Later")
    exemption_decide(actor=second_manager, exemption=exemption, approve=True, note="OK")
    client.force_login(manager)
    window = {"since": MONDAY_10AM.date().isoformat(), "until": LATER.date().isoformat()}
    with time_machine.travel(LATER, tick=False):
        page = client.get(reverse("sla:breaches"), window).content.decode()
    figures = page_figures(page)
    assert figures["sla_compliance"] == {"50.0%"}
    assert figures["sla_compliance_adjusted"] == {"100.0%"}
    assert "adjusted for exemptions" in page
    assert 'data-exemption="approved"' in page  # the breach is still listed


def test_the_metrics_api_lists_the_adjusted_figures(client, manager):
    client.force_login(manager)
    keys = {row["key"] for row in client.get("/api/v1/metrics/summary/").json()["metrics"]}
    assert {"sla_compliance_adjusted", "sla_compliance_accept_adjusted", "sla_exempted"} <= keys


def test_rights_on_the_pages(client, breach, sales_rep, other_sales_rep, reason):
    client.force_login(other_sales_rep)
    response = client.post(
        reverse("sla:exemption_request", args=[breach.pk]),
        {"reason": reason.pk, "note": "Not my breach"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert "Only the person accountable" in response.content.decode()
    assert not BreachExemption.objects.exists()
    client.force_login(sales_rep)
    response = client.post(
        reverse("sla:exemption_request", args=[breach.pk]),
        {"reason": reason.pk, "note": " "},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert f'<option value="{reason.pk}" selected>' in response.content.decode()  # kept


def test_the_joint_review_shows_raw_and_adjusted_compliance(
    client, breach, sales_rep, manager, second_manager, reason
):
    exemption = exemption_request(actor=sales_rep, breach=breach, reason=reason, note="Later")
    exemption_decide(actor=second_manager, exemption=exemption, approve=True, note="OK")
    client.force_login(manager)
    week = MONDAY_10AM.strftime("%G-W%V")
    with time_machine.travel(LATER + timedelta(days=7), tick=False):
        page = client.get(reverse("sla:review"), {"period": week}).content.decode()
    figures = page_figures(page)
    assert figures["sla_compliance"] >= {"50.0%"}
    assert figures["sla_compliance_adjusted"] >= {"100.0%"}
    assert figures["sla_exempted"] == {"1"}

"""Bulk actions on the lead list: each lead through its own service call and transaction,
refusals reported by name without dropping the others, and the CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from crm.csv_files import BYTE_ORDER_MARK
from leads.lifecycle import Stage
from leads.models import Lead, LeadEvent
from leads.services.bulk import MAX_BULK_LEADS, leads_bulk_transition
from leads.services.leads import lead_update
from leads.services.transitions import lead_hand_off
from tests.conftest import ALL_REQUIRED_CRITERIA

pytestmark = pytest.mark.django_db


@pytest.fixture
def handed(make_lead, marketer, sales_rep):
    def hand(name: str, rep=sales_rep) -> Lead:
        lead = make_lead(first_name=name, last_name="Lead")
        return lead_hand_off(
            lead=lead, actor=marketer, assignee=rep, criteria=ALL_REQUIRED_CRITERIA
        )

    return hand


def _ticked(lead: Lead, actor, criteria: list[str]) -> Lead:
    return lead_update(
        lead=lead, actor=actor, fields={"criteria_met": criteria}, expected_version=lead.version
    )


def _post(client, leads, **data):
    body = {"lead": [lead.pk for lead in leads], "next": reverse("leads:list"), **data}
    for lead in leads:
        body.setdefault(f"version-{lead.pk}", lead.version)
    return client.post(reverse("leads:bulk"), body, follow=True)


def test_it_reassigns_each_lead_and_reports_the_refused_by_name(
    handed, sales_rep, other_sales_rep, manager, marketer
):
    mine = [handed("Ann"), handed("Ben")]
    theirs = handed("Cat", rep=other_sales_rep)
    outcomes = leads_bulk_transition(
        actor=sales_rep,
        transition="reassign",
        versions={lead.pk: lead.version for lead in [*mine, theirs]},
        params={"assignee": other_sales_rep.pk, "reason": "Leave"},
    )
    assert [o.done for o in outcomes] == [True, True, False]
    assert outcomes[2].name == "Cat Lead"
    assert outcomes[2].error == "Only the assigned sales rep or a manager may change this lead."
    for lead in mine:
        assert Lead.objects.get(pk=lead.pk).owner == other_sales_rep
        assert LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.ASSIGNED).exists()


def test_a_stale_version_is_refused_for_that_lead_only(handed, manager, other_sales_rep):
    fresh, stale = handed("Ann"), handed("Ben")
    outcomes = leads_bulk_transition(
        actor=manager,
        transition="reassign",
        versions={fresh.pk: fresh.version, stale.pk: stale.version - 1},
        params={"assignee": other_sales_rep.pk, "reason": "Leave"},
    )
    assert outcomes[0].done and not outcomes[1].done
    assert "changed by someone else" in outcomes[1].error
    assert Lead.objects.get(pk=stale.pk).version == stale.version


def test_it_refuses_more_leads_than_one_action_takes(manager):
    from crm.errors import DomainError

    with pytest.raises(DomainError, match=f"at most {MAX_BULK_LEADS}"):
        leads_bulk_transition(
            actor=manager,
            transition="reassign",
            versions={n: 1 for n in range(1, MAX_BULK_LEADS + 2)},
        )


def test_the_page_reassigns_and_lists_each_refusal(
    client, handed, sales_rep, other_sales_rep, marketer
):
    mine, theirs = handed("Ann"), handed("Cat", rep=other_sales_rep)
    client.force_login(sales_rep)
    page = _post(
        client, [mine, theirs], action="reassign", reassign_to=other_sales_rep.pk, reason="Leave"
    ).content.decode()
    assert "1 lead reassigned: Ann Lead." in page
    assert "Not reassigned — Cat Lead: Only the assigned sales rep" in page
    assert Lead.objects.get(pk=mine.pk).owner == other_sales_rep


def test_a_reassign_without_a_reason_changes_nothing(client, handed, manager, other_sales_rep):
    lead = handed("Ann")
    client.force_login(manager)
    page = _post(client, [lead], action="reassign", reassign_to=other_sales_rep.pk, reason=" ")
    assert "Why: Say why the leads are reassigned." in page.content.decode()
    assert Lead.objects.get(pk=lead.pk).version == lead.version


def test_a_marketer_hands_off_the_ready_leads_and_hears_why_not_the_others(
    client, make_lead, marketer, sales_rep
):
    ready = _ticked(make_lead(first_name="Ready"), marketer, ALL_REQUIRED_CRITERIA)
    bare = make_lead(first_name="Bare")
    client.force_login(marketer)
    page = _post(client, [ready, bare], action="hand_off", hand_off_to=sales_rep.pk)
    text = page.content.decode()
    assert "1 lead handed off to sales: Ready" in text
    assert "Not handed off — Bare N" in text and "Cannot hand off" in text
    assert Lead.objects.get(pk=ready.pk).stage == Stage.QUALIFIED
    assert Lead.objects.get(pk=bare.pk).stage == Stage.ENGAGED


def test_a_bulk_hand_off_counts_the_persona_as_its_criterion(make_lead, marketer, sales_rep):
    from tests.factories import PersonaFactory

    others = [c for c in ALL_REQUIRED_CRITERIA if c != "fits-icp"]
    lead = _ticked(make_lead(persona=PersonaFactory().pk), marketer, others)
    [outcome] = leads_bulk_transition(
        actor=marketer, transition="hand_off", versions={lead.pk: lead.version}
    )
    assert outcome.done, outcome.error


def _rows(response) -> list[list[str]]:
    raw = b"".join(response.streaming_content).decode("utf-8")
    assert raw.startswith(BYTE_ORDER_MARK)
    return list(csv.reader(io.StringIO(raw[len(BYTE_ORDER_MARK) :])))


def test_the_filtered_list_exports_with_accents_and_defused_formulas(client, make_lead, manager):
    make_lead(first_name="Zoë", last_name="Ångström", company='=HYPERLINK("x")')
    make_lead(first_name="Other", company="Elsewhere")
    client.force_login(manager)
    response = client.get(reverse("leads:export"), {"q": "Ångström"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    header, *rows = _rows(response)
    assert header[:3] == ["Name", "Email", "Company"]
    assert [row[0] for row in rows] == ["Zoë Ångström"]
    assert rows[0][2] == '\'=HYPERLINK("x")'


def test_the_ticked_leads_export(client, make_lead, sales_rep):
    one, _, three = make_lead(last_name="A"), make_lead(last_name="B"), make_lead(last_name="C")
    client.force_login(sales_rep)
    response = client.post(reverse("leads:bulk"), {"lead": [one.pk, three.pk], "action": "export"})
    assert [row[0] for row in _rows(response)[1:]] == ["Pat A", "Pat C"]


def test_nothing_ticked_says_so(client, manager):
    client.force_login(manager)
    page = client.post(reverse("leads:bulk"), {"action": "export"}, follow=True)
    assert "Tick at least one lead." in page.content.decode()


def test_the_list_offers_each_role_its_bulk_actions(client, marketer, sales_rep, make_lead):
    make_lead()
    client.force_login(marketer)
    page = client.get(reverse("leads:list")).content.decode()
    assert 'value="hand_off"' in page and 'value="reassign"' not in page
    client.force_login(sales_rep)
    page = client.get(reverse("leads:list")).content.decode()
    assert 'value="reassign"' in page and 'value="hand_off"' not in page
    assert 'name="version-' in page and "data-pick-all" in page

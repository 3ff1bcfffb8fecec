"""Optimistic locking: a write carrying a stale version is refused, never silently lost."""

from __future__ import annotations

import pytest

from crm.errors import DomainError, ErrorCode
from leads.models import Lead, LeadEvent
from leads.services.leads import lead_update
from leads.services.transitions import lead_hand_off
from tests.conftest import ALL_REQUIRED_CRITERIA

pytestmark = pytest.mark.django_db


def test_an_edit_bumps_the_version_and_records_the_change(engaged_lead, marketer):
    lead = lead_update(
        lead=engaged_lead,
        actor=marketer,
        fields={"company": "Globex", "phone": "+44 1"},
        expected_version=1,
    )
    assert lead.version == 2
    event = lead.events.get(kind=LeadEvent.Kind.UPDATED)
    assert event.changes == {"company": ["Acme Logistics", "Globex"], "phone": ["", "+44 1"]}


def test_it_refuses_a_stale_edit_and_keeps_the_first(engaged_lead, marketer, manager):
    lead_update(lead=engaged_lead, actor=manager, fields={"company": "First"}, expected_version=1)
    with pytest.raises(DomainError) as err:
        lead_update(
            lead=engaged_lead, actor=marketer, fields={"company": "Second"}, expected_version=1
        )
    assert err.value.code == ErrorCode.STALE
    assert err.value.field == "version"
    fresh = Lead.objects.get(pk=engaged_lead.pk)
    assert (fresh.company, fresh.version) == ("First", 2)
    assert fresh.events.filter(kind=LeadEvent.Kind.UPDATED).count() == 1


def test_it_refuses_a_stale_transition(engaged_lead, marketer, sales_rep):
    lead_update(lead=engaged_lead, actor=marketer, fields={"company": "New"}, expected_version=1)
    with pytest.raises(DomainError) as err:
        lead_hand_off(
            lead=engaged_lead,
            actor=marketer,
            assignee=sales_rep,
            criteria=ALL_REQUIRED_CRITERIA,
            expected_version=1,
        )
    assert err.value.code == ErrorCode.STALE
    assert Lead.objects.get(pk=engaged_lead.pk).stage == "engaged"


def test_an_edit_that_changes_nothing_writes_nothing(engaged_lead, marketer):
    lead = lead_update(
        lead=engaged_lead,
        actor=marketer,
        fields={"company": "Acme Logistics"},
        expected_version=1,
    )
    assert lead.version == 1
    assert not lead.events.filter(kind=LeadEvent.Kind.UPDATED).exists()

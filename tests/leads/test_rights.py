"""Rights by role, enforced in the services (the pages and the API inherit them)."""

from __future__ import annotations

import pytest

from crm.errors import DomainError, ErrorCode
from leads.models import Lead, Reason
from leads.services.activities import activity_log
from leads.services.leads import LeadInput, lead_create, lead_update
from leads.services.transitions import lead_accept, lead_hand_off, lead_reject
from tests.conftest import ALL_REQUIRED_CRITERIA

pytestmark = pytest.mark.django_db


def assert_forbidden(call, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as err:
        call(**kwargs)
    assert err.value.code == ErrorCode.FORBIDDEN
    return err.value


def test_a_marketer_cannot_accept(qualified_lead, marketer):
    error = assert_forbidden(lead_accept, lead=qualified_lead, actor=marketer)
    assert "owned by Sales" in error.message
    assert Lead.objects.get(pk=qualified_lead.pk).accepted_at is None


def test_a_sales_rep_cannot_hand_off(engaged_lead, sales_rep):
    assert_forbidden(
        lead_hand_off,
        lead=engaged_lead,
        actor=sales_rep,
        assignee=sales_rep,
        criteria=ALL_REQUIRED_CRITERIA,
    )
    assert Lead.objects.get(pk=engaged_lead.pk).stage == "engaged"


def test_a_sales_rep_cannot_create_leads(sales_rep):
    assert_forbidden(lead_create, actor=sales_rep, data=LeadInput(email="x@y.example"))


def test_a_sales_rep_cannot_edit_a_marketing_lead(engaged_lead, sales_rep):
    assert_forbidden(
        lead_update,
        lead=engaged_lead,
        actor=sales_rep,
        fields={"company": "X"},
        expected_version=1,
    )


def test_a_marketer_cannot_edit_a_sales_lead(qualified_lead, marketer):
    assert_forbidden(
        lead_update,
        lead=qualified_lead,
        actor=marketer,
        fields={"company": "X"},
        expected_version=qualified_lead.version,
    )


def test_another_sales_rep_cannot_touch_a_lead_assigned_to_a_colleague(
    qualified_lead, other_sales_rep
):
    error = assert_forbidden(lead_accept, lead=qualified_lead, actor=other_sales_rep)
    assert error.message == "Only the assigned sales rep or a manager may change this lead."
    reason = Reason.objects.filter(kind="reject").first()
    assert_forbidden(lead_reject, lead=qualified_lead, actor=other_sales_rep, reason=reason)
    assert_forbidden(activity_log, lead=qualified_lead, actor=other_sales_rep, kind="call")


def test_a_manager_may_act_for_either_team(engaged_lead, manager, sales_rep):
    lead = lead_update(
        lead=engaged_lead, actor=manager, fields={"company": "Globex"}, expected_version=1
    )
    lead = lead_hand_off(
        lead=lead, actor=manager, assignee=sales_rep, criteria=ALL_REQUIRED_CRITERIA
    )
    lead = lead_accept(lead=lead, actor=manager)
    assert lead.accepted_by == manager


def test_an_integration_creates_leads_in_its_own_name(integration_user):
    lead = lead_create(actor=integration_user, data=LeadInput(email="form@acme.example"))
    assert lead.created_by == integration_user
    assert lead.owner is None
    assert lead.events.get().actor == integration_user


def test_an_inactive_user_can_do_nothing(engaged_lead, marketer):
    marketer.is_active = False
    marketer.save()
    assert_forbidden(
        lead_update,
        lead=engaged_lead,
        actor=marketer,
        fields={"company": "X"},
        expected_version=1,
    )

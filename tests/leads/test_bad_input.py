"""Bad input gets a clear error naming the field, and changes nothing."""

from __future__ import annotations

import pytest

from crm.errors import DomainError
from leads import forms
from leads.api_serializers import LeadUpdateSerializer
from leads.models import Lead, LeadEvent
from leads.services.leads import LeadInput, lead_create, lead_update
from leads.services.transitions import lead_transition

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"email": ""}, "email", "email is required."),
        ({"email": "   "}, "email", "email is required."),
        ({"email": "not-an-email"}, "email", "email 'not-an-email' is not a valid address."),
        (
            {"email": "a@b.example", "company": "x" * 600},
            "company",
            "company is too long (600 characters; at most 200).",
        ),
        (
            {"email": "a@b.example", "first_name": "Nul\x00Byte"},
            "first_name",
            "first_name must not contain NUL characters.",
        ),
        (
            {"email": "a@b.example", "estimated_value": "lots"},
            "estimated_value",
            "estimated_value must be a number.",
        ),
        (
            {"email": "a@b.example", "estimated_value": "-5"},
            "estimated_value",
            "estimated_value must be between 0 and 9999999999.99.",
        ),
        ({"email": "a@b.example", "campaign": 999999}, "campaign", "Unknown campaign 999999."),
    ],
)
def test_it_refuses_a_bad_create(marketer, fields, field, message):
    with pytest.raises(DomainError) as err:
        lead_create(actor=marketer, data=LeadInput(**fields))
    assert (err.value.field, err.value.message) == (field, message)
    assert Lead.objects.count() == 0
    assert LeadEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"stage": "won"}, "stage"),
        ({"owner_team": "sales"}, "owner_team"),
        ({"version": 99}, "version"),
        ({"criteria_met": ["no-such-criterion"]}, "criteria_met"),
        ({"criteria_met": "fits-icp"}, "criteria_met"),
    ],
)
def test_it_refuses_protected_or_unknown_fields_in_an_edit(engaged_lead, marketer, fields, field):
    with pytest.raises(DomainError) as err:
        lead_update(lead=engaged_lead, actor=marketer, fields=fields, expected_version=1)
    assert err.value.field == field
    assert Lead.objects.get(pk=engaged_lead.pk).version == 1


def test_it_refuses_an_unknown_stage_move(engaged_lead, manager):
    with pytest.raises(DomainError) as err:
        lead_transition(lead=engaged_lead, actor=manager, transition="promote_to_ceo")
    assert err.value.field == "transition"


def test_it_refuses_a_missing_reason(qualified_lead, sales_rep):
    with pytest.raises(DomainError) as err:
        lead_transition(lead=qualified_lead, actor=sales_rep, transition="reject", params={})
    assert (err.value.field, err.value.message) == ("reason", "A reject reason is required.")


def test_it_refuses_an_unknown_reason(qualified_lead, sales_rep):
    with pytest.raises(DomainError) as err:
        lead_transition(
            lead=qualified_lead, actor=sales_rep, transition="reject", params={"reason": "abc"}
        )
    assert err.value.message == "Unknown reason 'abc'."


@pytest.mark.parametrize(
    "field", ["first_name", "last_name", "phone", "company", "job_title", "next_step"]
)
def test_the_form_the_api_and_the_service_take_the_limit_the_model_field_declares(
    engaged_lead, marketer, field
):
    limit = Lead._meta.get_field(field).max_length
    fits, too_long = "x" * limit, "x" * (limit + 1)
    form_data = {"email": "a@b.example", "version": 1}
    assert forms.LeadEditForm({**form_data, field: fits}).is_valid()
    assert field in forms.LeadEditForm({**form_data, field: too_long}).errors
    assert LeadUpdateSerializer(data={field: fits}).is_valid()
    assert not LeadUpdateSerializer(data={field: too_long}).is_valid()
    with pytest.raises(DomainError) as err:
        lead_update(lead=engaged_lead, actor=marketer, fields={field: too_long}, expected_version=1)
    assert err.value.message == f"{field} is too long ({limit + 1} characters; at most {limit})."
    lead = lead_update(lead=engaged_lead, actor=marketer, fields={field: fits}, expected_version=1)
    assert getattr(lead, field) == fits

"""Export and erase a person: managers only, audited, reports keep their numbers."""

from __future__ import annotations

import pytest

from crm.errors import DomainError, ErrorCode
from leads.models import Activity, Lead, LeadEvent
from leads.selectors import pipeline_by_stage
from leads.services.activities import activity_log
from leads.services.leads import lead_update
from leads.services.privacy import person_erase, person_export

pytestmark = pytest.mark.django_db

EMAIL = "Jo.Private@acme.example"


@pytest.fixture
def private_lead(make_lead, marketer, manager):
    lead = make_lead(email=EMAIL, first_name="Jo", last_name="Private", phone="+44 7700 900123")
    lead = lead_update(
        lead=lead, actor=marketer, fields={"first_name": "Joanna"}, expected_version=1
    )
    activity_log(lead=lead, actor=marketer, kind="note", summary="Jo said call her mobile")
    return lead


def test_a_manager_exports_everything_about_a_person(private_lead, manager):
    data = person_export(actor=manager, email="jo.private+x@ACME.example")
    [lead] = data["leads"]
    assert lead["email"] == EMAIL
    assert lead["activities"][0]["summary"] == "Jo said call her mobile"
    assert [e["kind"] for e in lead["history"]] == ["created", "updated", "activity"]
    assert LeadEvent.objects.filter(lead=private_lead, kind="exported", actor=manager).exists()


def test_a_manager_erases_a_person_and_the_pipeline_stays_right(private_lead, manager):
    before = pipeline_by_stage()
    person_erase(actor=manager, email=EMAIL)
    lead = Lead.objects.get(pk=private_lead.pk)
    assert (lead.first_name, lead.last_name, lead.phone) == ("", "", "")
    assert "private" not in lead.email.lower()
    assert lead.stage == private_lead.stage
    assert pipeline_by_stage() == before
    assert Activity.objects.get(lead=lead).summary == "[erased]"
    for event in LeadEvent.objects.filter(lead=lead):
        assert "Jo" not in str(event.changes) and "private" not in str(event.changes).lower()
    assert LeadEvent.objects.filter(lead=lead, kind="erased", actor=manager).exists()


def test_after_erasure_the_email_appears_in_no_lead_table(private_lead, manager):
    person_erase(actor=manager, email=EMAIL)
    needle = "private"
    assert not Lead.objects.filter(email__icontains=needle).exists()
    assert not Lead.objects.filter(email_normalized__icontains=needle).exists()
    assert not LeadEvent.objects.filter(changes__icontains=needle).exists()


@pytest.mark.parametrize("call", [person_erase, person_export])
def test_only_managers_handle_personal_data(private_lead, marketer, call):
    with pytest.raises(DomainError) as err:
        call(actor=marketer, email=EMAIL)
    assert err.value.code == ErrorCode.FORBIDDEN
    assert Lead.objects.get(pk=private_lead.pk).email == EMAIL


def test_an_unknown_person_is_reported(manager):
    with pytest.raises(DomainError) as err:
        person_erase(actor=manager, email="nobody@acme.example")
    assert err.value.code == ErrorCode.NOT_FOUND

"""De-duplication on (source, external_id) and on normalised email among open leads."""

from __future__ import annotations

import pytest

from crm.errors import DomainError, ErrorCode
from leads.models import Lead, Reason
from leads.services.cleaning import normalize_email
from leads.services.leads import LeadInput, lead_create
from leads.services.transitions import lead_disqualify

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("  Jo.Smith@Acme.Example ", "jo.smith@acme.example"),
        ("jo+ads@acme.example", "jo@acme.example"),
        ("JO+a+b@ACME.EXAMPLE", "jo@acme.example"),
    ],
)
def test_it_normalises_emails(raw, normal):
    assert normalize_email(raw) == normal


def test_it_reports_the_open_lead_with_the_same_email(make_lead, marketer):
    first = make_lead(email="Jo.Smith@acme.example")
    with pytest.raises(DomainError) as err:
        lead_create(actor=marketer, data=LeadInput(email="jo.smith+webinar@ACME.example"))
    assert err.value.code == ErrorCode.DUPLICATE
    assert err.value.existing_id == first.pk
    assert err.value.message == f"This lead already exists (lead {first.pk})."
    assert Lead.objects.count() == 1


def test_it_reports_the_lead_with_the_same_source_and_external_id(make_lead, integration_user):
    first = make_lead(email="a@acme.example", source="webform", external_id="F-1")
    with pytest.raises(DomainError) as err:
        lead_create(
            actor=integration_user,
            data=LeadInput(email="other@acme.example", source="webform", external_id="F-1"),
        )
    assert err.value.existing_id == first.pk


def test_the_same_external_id_from_another_source_is_a_new_lead(make_lead):
    make_lead(email="a@acme.example", source="webform", external_id="F-1")
    second = make_lead(email="b@acme.example", source="ads", external_id="F-1")
    assert second.pk


def test_a_closed_lead_does_not_block_a_new_one(make_lead, marketer):
    first = make_lead(email="jo@acme.example")
    lead_disqualify(
        lead=first, actor=marketer, reason=Reason.objects.filter(kind="disqualify").first()
    )
    again = make_lead(email="jo@acme.example")
    assert again.pk != first.pk


def test_the_database_refuses_a_second_open_lead_with_the_same_email(make_lead):
    """The partial unique index settles a race the application check cannot see."""
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    first = make_lead(email="race@acme.example")
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        Lead.objects.create(
            email="race@acme.example",
            email_normalized=first.email_normalized,
            stage="engaged",
            owner_team="marketing",
            stage_changed_at=now,
            created_at=now,
            updated_at=now,
        )


LOOK_ALIKES = [
    "zw@acme.example\u200b",  # zero-width space
    "zw@ac\u00adme.example",  # soft hyphen
    "zw@\uff41\uff43\uff4d\uff45.example",  # full-width letters
    "\u200dzw@acme.example",  # zero-width joiner
    "zw\uff20acme.example",  # full-width @
    "ZW@ACME.EXAMPLE\u2060",  # word joiner
]


@pytest.mark.parametrize("look_alike", LOOK_ALIKES)
def test_it_sees_through_invisible_and_look_alike_characters(make_lead, marketer, look_alike):
    first = make_lead(email="zw@acme.example")
    with pytest.raises(DomainError) as err:
        lead_create(actor=marketer, data=LeadInput(email=look_alike))
    assert err.value.code == ErrorCode.DUPLICATE and err.value.existing_id == first.pk
    assert Lead.objects.count() == 1


@pytest.mark.parametrize("look_alike", LOOK_ALIKES)
def test_it_stores_the_address_without_its_hidden_characters(marketer, look_alike):
    lead = lead_create(actor=marketer, data=LeadInput(email=look_alike))
    lead.refresh_from_db()
    assert lead.email.lower() == "zw@acme.example"
    assert lead.email_normalized == "zw@acme.example"


def test_it_stores_an_international_domain_in_its_ascii_form(marketer):
    lead = lead_create(actor=marketer, data=LeadInput(email="jo@B\u00fccher.example"))
    assert lead.email == "jo@xn--bcher-kva.example"
    with pytest.raises(DomainError) as err:
        lead_create(actor=marketer, data=LeadInput(email="jo@xn--bcher-kva.example"))
    assert err.value.existing_id == lead.pk


def test_it_drops_zero_width_characters_from_names_and_companies(marketer):
    lead = lead_create(
        actor=marketer,
        data=LeadInput(
            email="ann@acme.example",
            first_name="An\u200bn",
            last_name="\ufeffLee\u00ad",
            company="Ac\u200dme\u2060",
        ),
    )
    lead.refresh_from_db()
    assert (lead.first_name, lead.last_name, lead.company) == ("Ann", "Lee", "Acme")


def test_it_keeps_the_joiner_that_shapes_a_persian_name(marketer):
    name = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647"
    lead = lead_create(actor=marketer, data=LeadInput(email="p@acme.example", first_name=name))
    assert lead.first_name == name


def test_it_refuses_a_non_ascii_mailbox_and_says_why(marketer):
    with pytest.raises(DomainError) as err:
        lead_create(actor=marketer, data=LeadInput(email="s\u00f8ren@acme.example"))
    assert err.value.field == "email"
    assert "non-ASCII characters before the @" in err.value.message
    assert "RFC 6531" in err.value.message
    assert not Lead.objects.exists()


def test_it_refuses_a_domain_that_cannot_be_a_domain_name(marketer):
    with pytest.raises(DomainError) as err:
        lead_create(actor=marketer, data=LeadInput(email="jo@acme..example"))
    assert err.value.field == "email"

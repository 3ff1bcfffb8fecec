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

"""Lead history (and the clock history written into it) cannot be edited through the app:
the admin shows it read-only, and on PostgreSQL a trigger refuses UPDATE and DELETE unless
person erasure lifted the guard for its own transaction."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from leads.models import Lead, LeadEvent
from leads.services.privacy import person_erase
from tests.factories import UserFactory


@pytest.mark.django_db
def test_the_admin_shows_history_read_only(accepted_lead):
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(username="root", is_staff=True, is_superuser=True)
    event = accepted_lead.events.first()
    history_admin = admin.site._registry[LeadEvent]
    assert not history_admin.has_add_permission(request)
    assert not history_admin.has_change_permission(request, event)
    assert not history_admin.has_delete_permission(request, event)
    lead_admin = admin.site._registry[Lead]
    assert not lead_admin.has_delete_permission(request, accepted_lead)
    for inline in lead_admin.get_inline_instances(request, accepted_lead):
        if inline.model is LeadEvent:
            assert not inline.has_add_permission(request, accepted_lead)
            assert inline.can_delete is False
            assert set(inline.fields) <= set(inline.readonly_fields)
            break
    else:
        raise AssertionError("the lead admin does not show its history")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_raw_update_or_delete_of_history_is_refused(accepted_lead):
    event_id = accepted_lead.events.first().pk
    for sql in (
        "UPDATE leads_leadevent SET note = 'rewritten' WHERE id = %s",
        "DELETE FROM leads_leadevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event_id])
    assert LeadEvent.objects.get(pk=event_id).note != "rewritten"
    # ORM writes go through the same guard.
    with pytest.raises(DatabaseError), transaction.atomic():
        LeadEvent.objects.filter(lead=accepted_lead).update(note="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        accepted_lead.delete()
    # The guard is transaction-local: an earlier erasure does not leave it open.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL handoff.allow_history_rewrite = 'on'")
    with pytest.raises(DatabaseError), transaction.atomic():
        LeadEvent.objects.filter(lead=accepted_lead).update(note="rewritten")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_erasure_still_rewrites_history(manager, accepted_lead):
    email = accepted_lead.email
    person_erase(actor=manager, email=email)
    assert not LeadEvent.objects.filter(changes__icontains=email).exists()
    assert LeadEvent.objects.filter(lead=accepted_lead, kind=LeadEvent.Kind.ERASED).count() == 1

"""E-mail digests: a person who chose one gets their notification e-mails gathered into one
mail per hour (or per day at their hour), sent through the outbox once per slot."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import connections
from django.urls import reverse

from crm.digest import digest_slot, email_digests_send
from crm.errors import DomainError
from crm.models import Notification, OutboxMessage, User
from crm.outbox import outbox_drain
from crm.services import user_preferences_update
from sla.sweep import sla_sweep
from tests.sla.conftest import MONDAY_10AM

pytestmark = pytest.mark.django_db

NEXT_DAY = MONDAY_10AM + timedelta(days=1)  # Tuesday 10:00 UTC (and London)


@pytest.fixture
def site_url(settings) -> str:
    settings.SITE_URL = "https://handoff.example.com"
    return settings.SITE_URL


def _mails_to(user: User) -> list:
    return [m for m in mail.outbox if m.to == [user.email]]


@pytest.fixture
def two_breaches(hand_off, accept_policy):
    """Two leads the rep has not accepted, breached and told on Tuesday 10:00."""
    leads = [
        hand_off(first_name="Priya", last_name="Raman", company="Northwind"),
        hand_off(first_name="Omar", last_name="Haddad", company="Contoso"),
    ]
    sla_sweep(now=NEXT_DAY)
    return leads


def test_an_hourly_digest_gathers_the_mails_into_one_sent_once(site_url, sales_rep, two_breaches):
    user_preferences_update(actor=sales_rep, user=sales_rep, email_digest="hourly")
    outbox_drain(now=NEXT_DAY)
    # Read in the app at once; nothing mailed one by one.
    assert Notification.objects.filter(user=sales_rep).count() == 2
    assert _mails_to(sales_rep) == []
    held = OutboxMessage.objects.filter(recipient=sales_rep, status="held")
    assert held.count() == 2

    # Within the hour the mails were written in, its digest is not due yet.
    assert email_digests_send(now=NEXT_DAY + timedelta(minutes=30)) == 0
    at_eleven = NEXT_DAY + timedelta(hours=1, minutes=3)
    assert email_digests_send(now=at_eleven) == 1
    assert email_digests_send(now=at_eleven + timedelta(minutes=5)) == 0
    outbox_drain(now=at_eleven)
    outbox_drain(now=at_eleven + timedelta(minutes=5))

    (digest,) = _mails_to(sales_rep)
    assert digest.subject == "Handoff: 2 notifications this hour"
    html, mimetype = digest.alternatives[0]
    assert mimetype == "text/html"
    for lead in two_breaches:
        link = f"https://handoff.example.com/leads/{lead.pk}/"
        assert link in digest.body
        assert f'href="{link}"' in html
    assert f"{sales_rep.display_name} has not accepted Priya Raman (Northwind)" in digest.body
    assert "Due 2 Mar, 15:00, now 20 h 3 min overdue." in digest.body  # as it goes out
    assert "times in Europe/London" in digest.body
    assert "https://handoff.example.com/notifications/" in digest.body
    assert digest.extra_headers["List-ID"].endswith("<notifications.handoff.example.com>")
    unsubscribe = digest.extra_headers["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("https://handoff.example.com/unsubscribe/")
    assert unsubscribe in digest.body and unsubscribe in html
    assert not held.exists()
    assert OutboxMessage.objects.filter(recipient=sales_rep, status="digested").count() == 2
    assert OutboxMessage.objects.filter(event_type="digest").count() == 1


def test_two_runs_at_once_write_one_digest(sales_rep, two_breaches):
    """Both runs find the mails held; the one that comes second finds them gathered."""
    user_preferences_update(actor=sales_rep, user=sales_rep, email_digest="hourly")
    outbox_drain(now=NEXT_DAY)
    later = NEXT_DAY + timedelta(hours=2)
    assert [email_digests_send(now=later), email_digests_send(now=later)] == [1, 0]
    outbox_drain(now=later)
    outbox_drain(now=later + timedelta(hours=1))
    assert len(_mails_to(sales_rep)) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_the_same_moment_write_one_digest(sales_rep, two_breaches):
    """Two workers at once: the second waits on the held rows the first locked, then finds
    them gathered (and the unique delivery key would refuse a second digest anyway)."""
    user_preferences_update(actor=sales_rep, user=sales_rep, email_digest="hourly")
    outbox_drain(now=NEXT_DAY)
    later = NEXT_DAY + timedelta(hours=1)
    barrier = threading.Barrier(2)
    results: list[int] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(email_digests_send(now=later))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1]
    assert OutboxMessage.objects.filter(event_type="digest").count() == 1


def test_a_mail_held_after_its_slots_digest_waits_for_the_next(sales_rep, hand_off, accept_policy):
    user_preferences_update(actor=sales_rep, user=sales_rep, email_digest="hourly")
    hand_off(first_name="Priya", last_name="Raman", company="Northwind")
    sla_sweep(now=NEXT_DAY)
    outbox_drain(now=NEXT_DAY)
    assert email_digests_send(now=NEXT_DAY + timedelta(hours=1)) == 1
    # A second breach, written 10:59 but held only after the 11:00 digest went out.
    hand_off(first_name="Omar", last_name="Haddad", company="Contoso")
    sla_sweep(now=NEXT_DAY + timedelta(minutes=59))
    outbox_drain(now=NEXT_DAY + timedelta(hours=1, minutes=1))
    assert email_digests_send(now=NEXT_DAY + timedelta(hours=1, minutes=10)) == 0
    assert email_digests_send(now=NEXT_DAY + timedelta(hours=2)) == 1
    outbox_drain(now=NEXT_DAY + timedelta(hours=2))
    subjects = [m.subject for m in _mails_to(sales_rep)]
    assert subjects == ["Handoff: 1 notification this hour"] * 2


def test_a_daily_digest_goes_at_the_persons_hour_in_their_zone(sales_rep, two_breaches):
    """08:00 in New York is 13:00 UTC in March (before the clocks change there on the 8th)."""
    user_preferences_update(
        actor=sales_rep,
        user=sales_rep,
        time_zone="America/New_York",
        email_digest="daily",
        email_digest_hour=8,
    )
    outbox_drain(now=NEXT_DAY)
    assert email_digests_send(now=datetime(2026, 3, 3, 12, 59, tzinfo=UTC)) == 0
    assert email_digests_send(now=datetime(2026, 3, 3, 13, 0, tzinfo=UTC)) == 1
    outbox_drain(now=datetime(2026, 3, 3, 13, 0, tzinfo=UTC))
    (digest,) = _mails_to(sales_rep)
    assert digest.subject == "Handoff: 2 notifications this day"
    assert "times in America/New_York" in digest.body
    assert "Due 2 Mar, 10:00, now" in digest.body  # 15:00 London


def test_the_digest_slot_is_the_last_chosen_hour_in_the_persons_zone(sales_rep):
    sales_rep.time_zone, sales_rep.email_digest, sales_rep.email_digest_hour = (
        "Asia/Tokyo",
        "daily",
        9,
    )
    # 23:30 UTC on the 2nd is 08:30 on the 3rd in Tokyo: the slot is 09:00 on the 2nd there.
    slot = digest_slot(sales_rep, datetime(2026, 3, 2, 23, 30, tzinfo=UTC))
    assert slot.isoformat() == "2026-03-02T09:00:00+09:00"


def test_someone_who_goes_back_to_one_mail_each_gets_what_was_held(sales_rep, two_breaches):
    user_preferences_update(actor=sales_rep, user=sales_rep, email_digest="daily")
    outbox_drain(now=NEXT_DAY)
    user_preferences_update(actor=sales_rep, user=sales_rep, email_digest="")
    assert email_digests_send(now=NEXT_DAY + timedelta(hours=1)) == 1
    outbox_drain(now=NEXT_DAY + timedelta(hours=1))
    assert len(_mails_to(sales_rep)) == 1


def test_the_digests_unsubscribe_link_stops_every_kind(client, site_url, sales_rep, two_breaches):
    user_preferences_update(actor=sales_rep, user=sales_rep, email_digest="hourly")
    outbox_drain(now=NEXT_DAY)
    email_digests_send(now=NEXT_DAY + timedelta(hours=1))
    outbox_drain(now=NEXT_DAY + timedelta(hours=1))
    (digest,) = _mails_to(sales_rep)
    link = digest.extra_headers["List-Unsubscribe"].strip("<>").removeprefix(site_url)
    assert "any notification" in client.get(link).content.decode()
    assert client.post(link).status_code == 200
    muted = User.objects.get(pk=sales_rep.pk).email_muted_kinds
    assert muted == ["breach.created", "commitment.missed"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email_digest": "weekly"}, "email_digest"),
        ({"email_digest_hour": 24}, "email_digest_hour"),
        ({"email_digest_hour": -1}, "email_digest_hour"),
    ],
)
def test_it_refuses_a_bad_digest_choice_and_saves_nothing(sales_rep, fields, field):
    with pytest.raises(DomainError) as err:
        user_preferences_update(actor=sales_rep, user=sales_rep, **fields)
    assert err.value.field == field
    fresh = User.objects.get(pk=sales_rep.pk)
    assert (fresh.email_digest, fresh.email_digest_hour) == ("", 8)


def test_the_settings_page_saves_a_daily_digest(client, sales_rep):
    client.force_login(sales_rep)
    page = client.get(reverse("account")).content.decode()
    assert "One e-mail a day, at the hour chosen" in page
    response = client.post(
        reverse("account"),
        {"email_digest": "daily", "email_digest_hour": "7", "emailed_kinds": ["breach.created"]},
    )
    assert response.status_code == 302
    fresh = User.objects.get(pk=sales_rep.pk)
    assert (fresh.email_digest, fresh.email_digest_hour) == ("daily", 7)


def test_the_settings_page_refuses_an_unknown_digest_keeping_the_rest(client, sales_rep):
    client.force_login(sales_rep)
    response = client.post(
        reverse("account"), {"email_digest": "weekly", "time_zone": "Asia/Tokyo"}
    )
    assert response.status_code == 200
    assert "weekly" in " ".join(response.context["form"].errors["email_digest"])
    assert 'value="Asia/Tokyo" selected' in response.content.decode()
    assert User.objects.get(pk=sales_rep.pk).time_zone == ""

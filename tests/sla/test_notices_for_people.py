"""Notifications written for people: names and goals in words, the reader's zone, grouped per
lead; e-mails with both parts, absolute links, a List-ID and a per-kind unsubscribe link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from crm.errors import DomainError
from crm.models import Notification, User
from crm.notifications import unsubscribe_token
from crm.outbox import outbox_drain
from crm.services import user_preferences_update
from sla.sweep import sla_sweep
from tests.sla.conftest import MONDAY_10AM

pytestmark = pytest.mark.django_db

NEXT_DAY = MONDAY_10AM + timedelta(days=1)


@pytest.fixture
def breached(hand_off, accept_policy):
    """Priya Raman (Northwind), handed to the rep Monday 10:00 London, due 15:00 (the
    calendar stops for lunch), seen a day later."""
    lead = hand_off(first_name="Priya", last_name="Raman", company="Northwind")
    sla_sweep(now=NEXT_DAY)
    outbox_drain(now=NEXT_DAY)
    return lead


def test_the_notification_names_the_people_and_the_goal(breached, sales_rep):
    notification = Notification.objects.get(user=sales_rep)
    assert (
        notification.title == f"{sales_rep.display_name} has not accepted Priya Raman (Northwind)"
    )
    assert notification.data["lead_id"] == breached.pk
    assert notification.data["due_at"] == "2026-03-02T15:00:00+00:00"


@pytest.fixture
def site_url(settings) -> str:
    settings.SITE_URL = "https://handoff.example.com"
    return settings.SITE_URL


def test_an_email_has_both_parts_an_absolute_link_and_list_headers(site_url, breached, sales_rep):
    (message,) = [m for m in mail.outbox if m.to == [sales_rep.email]]
    assert f"https://handoff.example.com/leads/{breached.pk}/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="https://handoff.example.com/leads/{breached.pk}/"' in html
    assert "Due 2 Mar, 15:00 (Europe/London), now 19 h overdue." in message.body
    assert message.extra_headers["List-ID"].endswith("<notifications.handoff.example.com>")
    unsubscribe = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("https://handoff.example.com/unsubscribe/")
    assert unsubscribe in message.body and unsubscribe in html


def test_an_email_shows_times_in_the_readers_zone(hand_off, accept_policy, sales_rep):
    user_preferences_update(actor=sales_rep, user=sales_rep, time_zone="America/New_York")
    hand_off(first_name="Priya", last_name="Raman", company="Northwind")
    sla_sweep(now=NEXT_DAY)
    outbox_drain(now=NEXT_DAY)
    (message,) = [m for m in mail.outbox if m.to == [sales_rep.email]]
    assert "Due 2 Mar, 10:00 (America/New_York)" in message.body


def test_a_muted_kind_reaches_the_app_but_not_the_mailbox(hand_off, accept_policy, sales_rep):
    user_preferences_update(actor=sales_rep, user=sales_rep, email_muted_kinds=["breach.created"])
    hand_off()
    sla_sweep(now=NEXT_DAY)
    outbox_drain(now=NEXT_DAY)
    assert [m for m in mail.outbox if m.to == [sales_rep.email]] == []
    assert Notification.objects.filter(user=sales_rep, kind="breach.created").exists()


def test_the_unsubscribe_link_asks_then_mutes_that_kind_only(client, sales_rep):
    url = reverse(
        "unsubscribe", args=[unsubscribe_token(user_id=sales_rep.pk, kind="breach.created")]
    )
    assert "Stop these e-mails" in client.get(url).content.decode()
    assert User.objects.get(pk=sales_rep.pk).email_muted_kinds == []
    assert client.post(url).status_code == 200
    assert User.objects.get(pk=sales_rep.pk).email_muted_kinds == ["breach.created"]
    forged = reverse("unsubscribe", args=["eyJ1IjoxfQ:forged:sig"])
    assert client.post(forged).status_code == 400


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"email_muted_kinds": ["everything"]}, "email_muted_kinds"),
    ],
)
def test_it_refuses_bad_preferences_and_saves_nothing(sales_rep, fields, field):
    with pytest.raises(DomainError) as err:
        user_preferences_update(actor=sales_rep, user=sales_rep, **fields)
    assert err.value.field == field
    fresh = User.objects.get(pk=sales_rep.pk)
    assert (fresh.time_zone, fresh.email_muted_kinds) == ("", [])


def test_nobody_sets_someone_elses_preferences(sales_rep, manager):
    with pytest.raises(DomainError):
        user_preferences_update(actor=manager, user=sales_rep, time_zone="Asia/Tokyo")
    assert User.objects.get(pk=sales_rep.pk).time_zone == ""


def test_the_settings_page_saves_the_zone_and_the_page_shows_it(client, breached, sales_rep):
    client.force_login(sales_rep)
    response = client.post(
        reverse("account"), {"time_zone": "Asia/Tokyo", "emailed_kinds": ["commitment.missed"]}
    )
    assert response.status_code == 302
    fresh = User.objects.get(pk=sales_rep.pk)
    assert (fresh.time_zone, fresh.email_muted_kinds) == ("Asia/Tokyo", ["breach.created"])
    page = client.get(reverse("sla:notifications")).content.decode()
    assert "Times in Asia/Tokyo" in page
    assert ">3 Mar, 00:00 JST</time>" in page


def test_the_settings_page_refuses_an_unknown_zone_keeping_the_rest(client, sales_rep):
    client.force_login(sales_rep)
    response = client.post(reverse("account"), {"time_zone": "Nowhere/Special"})
    assert response.status_code == 200
    assert "Nowhere/Special" in response.content.decode()
    assert User.objects.get(pk=sales_rep.pk).time_zone == ""


def test_the_page_groups_per_lead_newest_first(client, hand_off, accept_policy, sales_rep):
    first = hand_off(first_name="Ada", company="Acme")
    second = hand_off(first_name="Bo", company="Beta", at=MONDAY_10AM + timedelta(hours=1))
    at_risk = first.clocks.get().at_risk_at
    sla_sweep(now=at_risk)
    outbox_drain(now=at_risk)
    sla_sweep(now=NEXT_DAY)
    outbox_drain(now=NEXT_DAY)
    client.force_login(sales_rep)
    page = client.get(reverse("sla:notifications")).content.decode()
    groups = [int(part.split('"')[0]) for part in page.split('data-lead="')[1:]]
    assert sorted(groups) == sorted([first.pk, second.pk]) and len(groups) == 2
    assert "2 notifications" in page  # Ada's lead: at risk, then breached
    assert page.index("has not accepted Ada") < page.index("has yet to accept Ada")

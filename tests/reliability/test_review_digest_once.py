"""The joint review digest goes out once per period: two beat schedulers ticking through
Monday 08:00 at the same moments, then a replayed task and the command by hand, leave one
e-mail per person and one post per Slack-compatible endpoint."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from crm.models import OutboxChannel, OutboxMessage
from crm.outbox import outbox_drain
from sla.models import JointReviewDigest, WebhookFormat
from sla.review.digest import joint_review_digest_due
from sla.services import webhook_endpoint_create
from sla.tasks import send_joint_review_digest
from tests.reliability.schedulers import two_schedulers
from tests.sla.review_world import WEEK, build_review_world

# Monday 30 November 2026, 07:58 in London (GMT): two minutes before the digest is due.
START = datetime(2026, 11, 30, 7, 58, tzinfo=UTC)
TICK = timedelta(seconds=30)
TICKS = 8


def _beat(now: datetime) -> Counter[str]:
    sent = joint_review_digest_due(now=now)
    drained = outbox_drain(now=now)
    return Counter(digests=1 if sent and sent.sent else 0, delivered=drained.sent)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_schedulers_send_the_digest_once(
    manager, marketer, sales_rep, make_lead, receiver, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    build_review_world(manager=manager, marketer=marketer, sales_rep=sales_rep, make_lead=make_lead)
    webhook_endpoint_create(
        actor=manager, name="Team channel", url=receiver.url, format=WebhookFormat.SLACK,
        event_types=["breach.created"], now=START,
    )  # fmt: skip
    with time_machine.travel(START, tick=False) as traveller:
        both = two_schedulers(traveller, START, TICK, TICKS, _beat)
        # A replayed task and an operator afterwards: nothing more goes out.
        send_joint_review_digest.apply()
        call_command("send_joint_review", "--period", WEEK)
        outbox_drain(now=timezone.now())

    assert both["digests"] == 1
    [claim] = JointReviewDigest.objects.all()
    assert claim.period == WEEK
    digest = OutboxMessage.objects.filter(event_type="review.digest")
    people = {manager.email, marketer.email, sales_rep.email}
    assert sorted(m.to[0] for m in mail.outbox if "Joint review" in m.subject) == sorted(people)
    assert digest.filter(channel=OutboxChannel.EMAIL).count() == 3
    assert [key for key in receiver.seen if key.startswith("review:")] == [
        f"review:{WEEK}:webhook:{digest.filter(channel=OutboxChannel.WEBHOOK).get().target}"
    ]
    assert set(digest.values_list("attempts", flat=True)) == {1}
    body = next(m.body for m in mail.outbox if "Joint review" in m.subject)
    assert "Handed off: 6 (+5)" in body and "Too small (Autumn webinar): 2" in body


@pytest.mark.django_db
def test_the_command_prints_a_dry_run_and_sends_nothing(
    manager, marketer, sales_rep, make_lead, capsys
):
    build_review_world(manager=manager, marketer=marketer, sales_rep=sales_rep, make_lead=make_lead)
    call_command("send_joint_review", "--period", WEEK, "--dry-run")
    out = capsys.readouterr().out
    assert "Joint review: Week 48, 2026" in out and "would send 3 deliveries" in out
    assert not JointReviewDigest.objects.exists()
    assert not OutboxMessage.objects.filter(event_type="review.digest").exists()


@pytest.mark.django_db
def test_it_waits_for_monday_eight_and_skips_a_stale_week(settings):
    assert joint_review_digest_due(now=START) is None  # 07:58: not yet
    sent = joint_review_digest_due(now=START + timedelta(minutes=2))
    assert sent is not None and sent.period == WEEK and sent.sent
    # Deployed on a Wednesday: last Monday's digest is too old to send out of the blue.
    assert joint_review_digest_due(now=START + timedelta(days=9)) is None

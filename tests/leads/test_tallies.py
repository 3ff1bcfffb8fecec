"""The leads' kept counts (LeadTally) equal a recomputation from the leads after any sequence
of moves: creates, back-dated bulk imports, hand-offs, answers, deals won and lost,
reassignments, set-based edits, erasures and deletes, folded at any point. The database keeps
them (triggers), so every write path counts, including those that bypass the services.
"""

from __future__ import annotations

import threading
from contextlib import suppress
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from itertools import count

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.errors import DomainError
from leads.lifecycle import Stage
from leads.models import Lead, LeadTally
from leads.periods import Period
from leads.services.leads import LeadInput, lead_create
from leads.services.privacy import person_erase
from leads.services.reassignment import lead_reassign
from leads.services.tallies import (
    tallies_differences,
    tallies_fold,
    tallies_now,
    tallies_recomputed,
)
from leads.services.transitions import (
    lead_accept,
    lead_hand_off,
    lead_lose,
    lead_to_opportunity,
    lead_win,
)
from sla.metrics.compute import MetricFilter, campaign_figures, lead_flow_figures
from tests.conftest import ALL_REQUIRED_CRITERIA
from tests.factories import CampaignFactory, LeadFactory

MOVES = st.sampled_from(
    [
        "create",
        "import",
        "hand_off",
        "accept",
        "opportunity",
        "win",
        "lose",
        "reassign",
        "recampaign",
        "erase",
        "delete",
        "fold",
    ]
)
VALUES = st.one_of(st.none(), st.decimals(min_value=0, max_value=10**6, places=2))
STEP = st.tuples(MOVES, st.integers(min_value=0, max_value=50), st.booleans(), VALUES)
EXAMPLES = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
emails = count()


def _apply(move, pick, flag, value, *, people, campaigns) -> None:
    marketer, rep, other_rep, manager = people
    campaign = campaigns[pick % len(campaigns)] if flag else None
    leads = list(Lead.objects.order_by("id").values_list("id", flat=True))
    lead = leads[pick % len(leads)] if leads else None
    now = timezone.now()
    if move == "create":
        data = LeadInput(email=f"t{next(emails)}@tally.example", campaign=campaign)
        lead_create(actor=marketer, data=LeadInput(**{**data.__dict__, "estimated_value": value}))
    elif move == "import":  # back-dated, several rows in one statement, past the services
        Lead.objects.bulk_create(
            LeadFactory.build(
                email=f"t{next(emails)}@tally.example",
                campaign=campaign,
                estimated_value=value,
                created_at=now - timedelta(days=400 + pick),
            )
            for _ in range(1 + pick % 3)
        )
    elif lead is None or move == "fold":
        tallies_fold()
    elif move == "hand_off":
        lead_hand_off(lead=lead, actor=marketer, assignee=rep, criteria=ALL_REQUIRED_CRITERIA)
    elif move == "accept":
        lead_accept(lead=lead, actor=rep)
    elif move == "opportunity":
        lead_to_opportunity(lead=lead, actor=rep, estimated_value=value)
    elif move == "win":
        lead_win(lead=lead, actor=rep)
    elif move == "lose":
        lead_lose(lead=lead, actor=rep)
    elif move == "reassign":
        lead_reassign(lead=lead, actor=manager, assignee=other_rep if flag else rep)
    elif move == "recampaign":  # a set-based edit of many leads at once
        Lead.objects.filter(id__gte=lead).update(campaign=campaign, estimated_value=value)
    elif move == "erase":
        person_erase(actor=manager, email=Lead.objects.get(pk=lead).email)
    elif move == "delete":  # history is append-only: only a lead without any can go
        Lead.objects.filter(pk=lead, events__isnull=True).delete()


@pytest.mark.django_db
@EXAMPLES
@given(steps=st.lists(STEP, min_size=1, max_size=14))
def test_kept_counts_equal_the_leads_after_any_moves(
    steps, marketer, sales_rep, other_sales_rep, manager
):
    campaigns = [CampaignFactory(), CampaignFactory()]
    people = (marketer, sales_rep, other_sales_rep, manager)
    for move, pick, flag, value in steps:
        with suppress(DomainError):  # a move the lifecycle refuses changes nothing
            _apply(move, pick, flag, value, people=people, campaigns=campaigns)
        assert tallies_now() == tallies_recomputed()
    tallies_fold()
    assert tallies_differences() == []
    assert LeadTally.objects.count() == len(tallies_recomputed())  # one row per key


@pytest.mark.django_db
def test_the_figures_read_the_kept_counts(marketer, sales_rep):
    campaign = CampaignFactory()
    LeadFactory.create_batch(3, campaign=campaign)
    LeadFactory(
        campaign=campaign,
        stage=Stage.OPPORTUNITY,
        owner_team="sales",
        owner=sales_rep,
        first_opportunity_at=timezone.now(),
        estimated_value=Decimal("1200.50"),
    )
    campaign.refresh_from_db()  # its spend as the database holds it
    scope = MetricFilter(period=Period.last_days(None, timezone.now()))
    _, total = campaign_figures(scope, [campaign])
    assert (total["campaign_leads"], total["campaign_opportunities"]) == (4, 1)
    assert lead_flow_figures(scope, timezone.now())[0]["pipeline_value"] == Decimal("1200.50")
    # What the figures read is the kept counts: change them and the figures follow.
    LeadTally.objects.create(campaign_id=campaign.pk, stage=Stage.ENGAGED, leads=5)
    assert campaign_figures(scope, [campaign])[1]["campaign_leads"] == 9


@pytest.mark.django_db
def test_reconcile_reports_a_difference_and_fix_rebuilds():
    LeadFactory.create_batch(2, campaign=CampaignFactory())
    out = StringIO()
    call_command("reconcile_tallies", stdout=out)
    assert "no difference" in out.getvalue()
    LeadTally.objects.create(campaign_id=0, stage=Stage.WON, leads=1)  # a lost update
    with pytest.raises(CommandError, match="1 keys differ"):
        call_command("reconcile_tallies", stdout=StringIO())
    out = StringIO()
    call_command("reconcile_tallies", "--fix", stdout=out)
    assert "rebuilt" in out.getvalue()
    assert tallies_differences() == []


@pytest.mark.django_db
def test_emptying_the_leads_empties_the_kept_counts():
    LeadFactory.create_batch(3)
    assert tallies_now()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no check left pending
            cursor.execute("TRUNCATE leads_lead CASCADE")
    else:
        Lead.objects.all().delete()
    assert tallies_now() == {}


@pytest.mark.django_db
def test_the_beat_task_folds_the_change_rows():
    """Beat runs `leads.tasks.fold_tallies`: after it, one row per key."""
    from crm.celery import app, beat_schedule
    from leads.tasks import fold_tallies

    campaign = CampaignFactory()
    for _ in range(3):
        LeadFactory(campaign=campaign)  # three inserts: three change rows, one key
    assert LeadTally.objects.filter(campaign_id=campaign.pk).count() == 3
    fold_tallies.apply()
    assert list(LeadTally.objects.filter(campaign_id=campaign.pk).values_list("leads")) == [(3,)]
    scheduled = {entry["task"] for entry in beat_schedule().values()}
    assert fold_tallies.name in scheduled and fold_tallies.name in app.tasks


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_folds_running_beside_writers_lose_no_change():
    """Two folds loop while two writers insert and move leads, each on its own connection:
    nothing is counted twice or lost (a fold takes exactly the rows it deleted)."""
    campaigns = [CampaignFactory(), CampaignFactory()]
    stop = threading.Event()
    errors: list[BaseException] = []

    def folding() -> None:
        try:
            while not stop.is_set():
                tallies_fold()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    def writing(n: int) -> None:
        try:
            for i in range(40):
                lead = LeadFactory(email=f"w{n}-{i}@tally.example", campaign=campaigns[i % 2])
                Lead.objects.filter(pk=lead.pk).update(campaign=campaigns[(i + 1) % 2])
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    folders = [threading.Thread(target=folding) for _ in range(2)]
    writers = [threading.Thread(target=writing, args=(n,)) for n in range(2)]
    for thread in folders + writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=60)
    stop.set()
    for thread in folders:
        thread.join(timeout=60)
    assert errors == []
    assert tallies_now() == tallies_recomputed()
    assert sum(n for n, _, _ in tallies_now().values()) == 80

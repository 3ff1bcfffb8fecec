"""SLA policies and commitments said in plain words, for the pages both teams read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from leads.lifecycle import STAGE_ORDER, Stage
from sla.models import Commitment, SlaGoal, SlaPolicy


def duration_in_words(target: timedelta, *, business: bool) -> str:
    """4 hours -> "4 business hours"; 14 days on a 24/7 calendar -> "14 days"."""
    minutes = int(target.total_seconds() // 60)
    qualifier = "business " if business else ""
    if not business and minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{days} day{'s' if days != 1 else ''}"
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} {qualifier}hour{'s' if hours != 1 else ''}"
    return f"{minutes} {qualifier}minute{'s' if minutes != 1 else ''}"


def calendar_in_words(policy: SlaPolicy) -> str:
    calendar = policy.calendar
    if calendar is None:
        return "around the clock"
    city = calendar.timezone.rsplit("/", 1)[-1].replace("_", " ")
    name = calendar.name.strip()
    if name.lower().endswith(f"({city.lower()})"):
        name = name[: -len(city) - 2].strip()  # "Sales working hours (London)"
    elif city.lower() in name.lower():
        return name
    return f"{name}, {city}"


def _lead_phrase(stage: str) -> str:
    if stage == Stage.QUALIFIED:
        return "a handed-over lead"
    return f"a lead in {Stage(stage).label.lower()}"


GOAL_ORDER = (SlaGoal.ACCEPT, SlaGoal.FIRST_TOUCH, SlaGoal.EXIT_STAGE)


def in_lifecycle_order(policies: Iterable[SlaPolicy]) -> list[SlaPolicy]:
    """Policies in the order a lead meets them: by stage, then accept before first touch."""
    return sorted(
        policies,
        key=lambda p: (STAGE_ORDER.index(p.trigger_stage), GOAL_ORDER.index(p.goal), p.name),
    )


def policy_in_words(policy: SlaPolicy) -> str:
    """Says: Sales accepts or rejects a handed-over lead within 4 business hours (...)."""
    team = policy.get_accountable_team_display()
    lead = _lead_phrase(policy.trigger_stage)
    if policy.goal == SlaGoal.ACCEPT:
        promise = f"{team} accepts or rejects {lead}"
    elif policy.goal == SlaGoal.FIRST_TOUCH:
        promise = f"The assigned rep first calls, emails or meets {lead}"
    else:
        promise = f"{team} moves {lead} on" + (", or updates it," if policy.met_by_update else "")
    within = duration_in_words(policy.target, business=policy.calendar_id is not None)
    text = f"{promise} within {within} ({calendar_in_words(policy)})."
    if policy.reassign_at_risk:
        text += " A lead still unaccepted at the at-risk mark moves on to the next available rep."
    return text


def commitment_in_words(commitment: Commitment) -> str:
    """Says: Marketing hands over at least 120 qualified leads a month, 80% of them accepted."""
    team = commitment.get_team_display()
    period = commitment.get_period_display().lower()
    text = f"{team} hands over at least {commitment.target_qualified} qualified leads a {period}"
    if commitment.min_acceptance_rate is not None:
        text += f", and sales accepts at least {commitment.min_acceptance_rate:.0%} of them"
    return text + "."


def _local(iso: str) -> datetime:
    return timezone.localtime(datetime.fromisoformat(iso))


def _until(iso: str) -> str:
    """An absence's end in the reader's zone: its last day when it ends at midnight."""
    end = _local(iso)
    if (end.hour, end.minute) == (0, 0):
        return f"{end - timedelta(days=1):%-d %b}"
    return f"{end:%-d %b, %H:%M}"


def _skip_in_words(skip: dict[str, Any]) -> str:
    name, why = skip.get("name", "?"), skip.get("why")
    if why == "away" and skip.get("until"):
        return f"skipped {name}: out of office until {_until(skip['until'])}"
    if why == "capacity":
        return (
            f"skipped {name}: at capacity ({skip.get('waiting')} of {skip.get('capacity')} "
            "leads waiting for acceptance)"
        )
    if why == "hours":
        return (
            f"skipped {name}: at work only {skip.get('working_minutes', 0)} min before the "
            "accept is due"
        )
    return f"skipped {name}"


def routing_in_words(routing: dict[str, Any] | None) -> str:
    """How the round robin chose, as the lead's history and the hand-off form say it, times
    in the reader's zone: "Round robin chose Lena; skipped Raj: out of office until 4 Mar."
    """
    if not routing or not routing.get("chosen"):
        return ""
    chosen = routing["chosen"]["name"]
    if routing.get("fallback"):
        start = routing.get("starts_at")
        when = f" (at work from {_local(start):%-d %b, %H:%M})" if start else ""
        head = (
            f"Nobody could accept before the due time, so {chosen} takes it as the one back at "
            f"work first{when}"
        )
    else:
        head = f"Round robin chose {chosen}"
    skipped = [_skip_in_words(skip) for skip in routing.get("skipped", [])]
    return "; ".join([head, *skipped]) + "."

"""The metric catalogue: every figure the product shows, defined once.

Pages, exports and the API read a metric's label, definition and format from here, and its
value from `sla.metrics.compute`; a figure shown anywhere carries its key (`data-metric`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum

from django.conf import settings


class Unit(StrEnum):
    COUNT = "count"
    PERCENT = "percent"
    DURATION = "duration"  # seconds in the API and CSV, "1 h 24 min" on pages
    MONEY = "money"  # in settings.CURRENCY


class PeriodRule(StrEnum):
    CREATED = "by the date the lead was created"
    HANDED_OFF = "by hand-off date: the leads handed to sales in the period, answered since"
    CLOCK_STARTED = "by the date the SLA clock started (the lead entered the stage)"
    REACHED = "by the date the lead reached the stage"
    CLOSED = "by the date the deal was closed (won or lost)"
    BREACHED = "by the date of the breach (a clock's due time, or a period's end)"
    SNAPSHOT = "none: what is open now"
    ALL_TIME = "none: all time, as campaign spend is not split by period"
    COMMITMENT = "the commitment's own current week or month, in its time zone"


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    definition: str
    numerator: str
    denominator: str  # empty for counts, sums and durations
    time: str  # which clocks or events, which time (business or wall-clock)
    period_rule: PeriodRule
    unit: Unit

    def formula(self) -> str:
        """The formula in words, for the Definitions page and the API."""
        ratio = f"{self.numerator} ÷ {self.denominator}" if self.denominator else self.numerator
        return f"{ratio}. Time: {self.time}. Period: {self.period_rule}."

    def shown(self, value: object) -> str:
        return format_value(self.unit, value)


def format_value(unit: Unit, value: object) -> str:
    """How a value reads on a page: thousands separators, one currency, "—" for none."""
    if value is None:
        return "—"
    if unit == Unit.PERCENT:
        return f"{value:.1f}%"
    if unit == Unit.DURATION:
        return duration_words(value)  # type: ignore[arg-type]
    if unit == Unit.MONEY:
        return money(value)  # type: ignore[arg-type]
    return f"{value:,}"


CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


def money(amount: Decimal | int) -> str:
    """€12,345.60 — every amount in the one currency of settings.CURRENCY."""
    code = settings.CURRENCY
    number = f"{Decimal(amount):,.2f}"
    symbol = CURRENCY_SYMBOLS.get(code)
    return f"{symbol}{number}" if symbol else f"{number} {code}"


def duration_words(value: timedelta) -> str:
    """2 d 3 h, 4 h 05 min, 12 min: compact durations for tables."""
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else "under 1 min"


_WALL = "wall-clock time"
_HANDOFFS = "leads handed off in the period (each lead once)"
_CLOCKS_DECIDED = "{goal} clocks started in the period and decided (met, or missed: past due)"
_REACHED = "{goal} clocks started in the period that reached their goal, late ones included"


def _compliance(goal: str, words: str) -> Metric:
    return Metric(
        key=f"sla_compliance_{goal}",
        label=f"SLA kept: {words}",
        definition=f"Share of '{words}' promises kept: met by their due time.",
        numerator="clocks met",
        denominator=_CLOCKS_DECIDED.format(goal=words),
        time="due times are business time of the policy's calendar",
        period_rule=PeriodRule.CLOCK_STARTED,
        unit=Unit.PERCENT,
    )


_ADJUSTED = (
    " Adjusted: missed promises a manager exempted (the customer asked to wait, a wrong "
    "number...) are left out of both sides; the raw figure counts them."
)


def _compliance_adjusted(goal: str, words: str) -> Metric:
    return Metric(
        key=f"sla_compliance_{goal}_adjusted",
        label=f"SLA kept: {words}, adjusted for exemptions",
        definition=f"Share of '{words}' promises kept, exempted breaches left out.{_ADJUSTED}",
        numerator="clocks met",
        denominator=_CLOCKS_DECIDED.format(goal=words) + ", less those with an approved exemption",
        time="due times are business time of the policy's calendar",
        period_rule=PeriodRule.CLOCK_STARTED,
        unit=Unit.PERCENT,
    )


def _time_to(goal: str, words: str, stat: str, stat_words: str) -> Metric:
    return Metric(
        key=f"time_to_{goal}_{stat}",
        label=f"Time to {words}, {stat_words} (wall-clock)",
        definition=(
            f"The {stat_words} time from the clock's start (the lead entering the stage) to "
            f"the {words}, in wall-clock time, nights and weekends included."
        ),
        numerator=f"{stat_words} of (goal reached minus clock started)",
        denominator="",
        time=f"{_WALL}; over " + _REACHED.format(goal=words),
        period_rule=PeriodRule.CLOCK_STARTED,
        unit=Unit.DURATION,
    )


METRICS: tuple[Metric, ...] = (
    Metric(
        key="new_leads",
        label="New leads",
        definition="Leads created in the period, by any source (form, import, API).",
        numerator="leads created",
        denominator="",
        time="the lead's creation time",
        period_rule=PeriodRule.CREATED,
        unit=Unit.COUNT,
    ),
    Metric(
        key="handed_off",
        label="Handed off",
        definition="Leads marketing handed to sales in the period; a lead handed off twice "
        "counts once.",
        numerator=_HANDOFFS,
        denominator="",
        time="the hand-off event",
        period_rule=PeriodRule.HANDED_OFF,
        unit=Unit.COUNT,
    ),
    Metric(
        key="accepted",
        label="Accepted by sales",
        definition="Of the leads handed off in the period, those sales has accepted (so far).",
        numerator="handed-off leads with an acceptance since the period began",
        denominator="",
        time="the acceptance event",
        period_rule=PeriodRule.HANDED_OFF,
        unit=Unit.COUNT,
    ),
    Metric(
        key="rejected",
        label="Rejected by sales",
        definition="Of the leads handed off in the period, those sales sent back to "
        "marketing and did not accept later.",
        numerator="handed-off leads rejected and not accepted",
        denominator="",
        time="the rejection event",
        period_rule=PeriodRule.HANDED_OFF,
        unit=Unit.COUNT,
    ),
    Metric(
        key="acceptance_rate",
        label="Acceptance rate (of answered hand-offs)",
        definition="Of the hand-offs sales has answered, the share accepted: how good the "
        "leads are, judged by sales. Hand-offs still waiting do not count.",
        numerator="accepted",
        denominator="accepted + rejected",
        time="the hand-off event",
        period_rule=PeriodRule.HANDED_OFF,
        unit=Unit.PERCENT,
    ),
    Metric(
        key="acceptance_rate_all",
        label="Acceptance rate (of all hand-offs)",
        definition="Of all the leads handed off, the share sales has accepted so far; "
        "waiting ones count as not accepted. Marketing's commitments use this one.",
        numerator="accepted",
        denominator="handed off",
        time="the hand-off event",
        period_rule=PeriodRule.HANDED_OFF,
        unit=Unit.PERCENT,
    ),
    _time_to("accept", "accept or reject", "median", "median"),
    _time_to("accept", "accept or reject", "p90", "90th percentile"),
    _time_to("first_touch", "first touch", "median", "median"),
    _time_to("first_touch", "first touch", "p90", "90th percentile"),
    Metric(
        key="sla_compliance",
        label="SLA kept: all promises",
        definition="Share of all response-time promises (every policy) met by their due time.",
        numerator="clocks met",
        denominator=_CLOCKS_DECIDED.format(goal="all"),
        time="due times are business time of the policy's calendar",
        period_rule=PeriodRule.CLOCK_STARTED,
        unit=Unit.PERCENT,
    ),
    Metric(
        key="time_to_goal_median",
        label="Time to goal, median (wall-clock)",
        definition="The median wall-clock time from a clock's start to its goal, over the "
        "promises of a group (a team, rep, policy or week) that reached their goal.",
        numerator="median of (goal reached minus clock started)",
        denominator="",
        time=f"{_WALL}; over " + _REACHED.format(goal="the group's"),
        period_rule=PeriodRule.CLOCK_STARTED,
        unit=Unit.DURATION,
    ),
    Metric(
        key="sla_compliance_adjusted",
        label="SLA kept: all promises, adjusted for exemptions",
        definition="Share of all response-time promises met by their due time, exempted "
        f"breaches left out.{_ADJUSTED}",
        numerator="clocks met",
        denominator=_CLOCKS_DECIDED.format(goal="all") + ", less those with an approved exemption",
        time="due times are business time of the policy's calendar",
        period_rule=PeriodRule.CLOCK_STARTED,
        unit=Unit.PERCENT,
    ),
    _compliance("accept", "accept or reject"),
    _compliance("first_touch", "first touch"),
    _compliance("exit_stage", "leave the stage"),
    _compliance_adjusted("accept", "accept or reject"),
    _compliance_adjusted("first_touch", "first touch"),
    _compliance_adjusted("exit_stage", "leave the stage"),
    Metric(
        key="sla_exempted",
        label="Breaches exempted",
        definition="Missed promises a manager exempted on the accountable person's request; "
        "they stay in the breach list and in the raw compliance.",
        numerator=_CLOCKS_DECIDED.format(goal="all") + " missed, with an approved exemption",
        denominator="",
        time="due times are business time",
        period_rule=PeriodRule.CLOCK_STARTED,
        unit=Unit.COUNT,
    ),
    Metric(
        key="sla_decided",
        label="Promises decided",
        definition="Response-time promises whose outcome is known: met, or past due.",
        numerator=_CLOCKS_DECIDED.format(goal="all"),
        denominator="",
        time="due times are business time",
        period_rule=PeriodRule.CLOCK_STARTED,
        unit=Unit.COUNT,
    ),
    Metric(
        key="sla_met",
        label="Promises met",
        definition="Response-time promises whose goal was reached by the due time.",
        numerator="clocks met",
        denominator="",
        time="due times are business time",
        period_rule=PeriodRule.CLOCK_STARTED,
        unit=Unit.COUNT,
    ),
    Metric(
        key="sla_missed",
        label="Promises missed",
        definition="Response-time promises past their due time, whether or not the goal "
        "was reached later.",
        numerator="clocks breached, or open and past due",
        denominator="",
        time="due times are business time",
        period_rule=PeriodRule.CLOCK_STARTED,
        unit=Unit.COUNT,
    ),
    Metric(
        key="clocks_at_risk",
        label="Promises at risk now",
        definition="Open promises past their at-risk mark but not yet due: act on them today.",
        numerator="open clocks at risk now",
        denominator="",
        time="at-risk marks and due times are business time",
        period_rule=PeriodRule.SNAPSHOT,
        unit=Unit.COUNT,
    ),
    Metric(
        key="clocks_past_due",
        label="Promises past due, goal still open",
        definition="Promises past their due time whose goal is still not reached.",
        numerator="open or breached clocks past due, goal not reached",
        denominator="",
        time="due times are business time",
        period_rule=PeriodRule.SNAPSHOT,
        unit=Unit.COUNT,
    ),
    Metric(
        key="breaches",
        label="Breaches",
        definition="Breach records: each missed promise the sweep has recorded, and each "
        "missed marketing commitment period.",
        numerator="breaches",
        denominator="",
        time="the breach time (the clock's due time or the commitment period's end)",
        period_rule=PeriodRule.BREACHED,
        unit=Unit.COUNT,
    ),
    Metric(
        key="breaches_unacknowledged",
        label="Breaches awaiting acknowledgement",
        definition="Breach records no manager has yet acknowledged with a note.",
        numerator="breaches without an acknowledgement",
        denominator="",
        time="the breach time",
        period_rule=PeriodRule.BREACHED,
        unit=Unit.COUNT,
    ),
    Metric(
        key="opportunities",
        label="Opportunities",
        definition="Leads that became an opportunity in the period (each lead once).",
        numerator="leads whose first move to opportunity is in the period",
        denominator="",
        time="the move to opportunity",
        period_rule=PeriodRule.REACHED,
        unit=Unit.COUNT,
    ),
    Metric(
        key="won",
        label="Deals won",
        definition="Deals won in the period.",
        numerator="leads in stage won, closed in the period",
        denominator="",
        time="the close time",
        period_rule=PeriodRule.CLOSED,
        unit=Unit.COUNT,
    ),
    Metric(
        key="lost",
        label="Deals lost",
        definition="Deals lost in the period, whatever the reason.",
        numerator="leads in stage lost, closed in the period",
        denominator="",
        time="the close time",
        period_rule=PeriodRule.CLOSED,
        unit=Unit.COUNT,
    ),
    Metric(
        key="win_rate",
        label="Win rate",
        definition="Of the deals closed in the period, the share won.",
        numerator="won",
        denominator="won + lost",
        time="the close time",
        period_rule=PeriodRule.CLOSED,
        unit=Unit.PERCENT,
    ),
    Metric(
        key="pipeline_value",
        label="Open pipeline value",
        definition="Estimated value of the opportunities open now.",
        numerator="sum of estimated value of leads in stage opportunity",
        denominator="",
        time="now",
        period_rule=PeriodRule.SNAPSHOT,
        unit=Unit.MONEY,
    ),
    Metric(
        key="campaign_spend",
        label="Campaign spend",
        definition="What the campaigns have cost to date.",
        numerator="sum of campaign spend",
        denominator="",
        time="all time",
        period_rule=PeriodRule.ALL_TIME,
        unit=Unit.MONEY,
    ),
    Metric(
        key="campaign_leads",
        label="Campaign leads (all time)",
        definition="Leads sourced by the campaigns, ever.",
        numerator="leads with a campaign",
        denominator="",
        time="all time",
        period_rule=PeriodRule.ALL_TIME,
        unit=Unit.COUNT,
    ),
    Metric(
        key="campaign_opportunities",
        label="Campaign opportunities (all time)",
        definition="Campaign leads that ever became an opportunity, whatever happened next.",
        numerator="campaign leads that ever reached opportunity",
        denominator="",
        time="all time",
        period_rule=PeriodRule.ALL_TIME,
        unit=Unit.COUNT,
    ),
    Metric(
        key="campaign_won",
        label="Campaign deals won (all time)",
        definition="Campaign leads won.",
        numerator="campaign leads in stage won",
        denominator="",
        time="all time",
        period_rule=PeriodRule.ALL_TIME,
        unit=Unit.COUNT,
    ),
    Metric(
        key="cost_per_lead",
        label="Cost per lead",
        definition="Campaign spend divided by the leads the campaigns brought.",
        numerator="campaign spend",
        denominator="campaign leads",
        time="all time",
        period_rule=PeriodRule.ALL_TIME,
        unit=Unit.MONEY,
    ),
    Metric(
        key="cost_per_opportunity",
        label="Cost per opportunity",
        definition="Campaign spend divided by the campaign leads that ever became an opportunity.",
        numerator="campaign spend",
        denominator="campaign leads that ever reached opportunity",
        time="all time",
        period_rule=PeriodRule.ALL_TIME,
        unit=Unit.MONEY,
    ),
    Metric(
        key="cost_per_won",
        label="Cost per won deal",
        definition="Campaign spend divided by the campaign leads won.",
        numerator="campaign spend",
        denominator="campaign leads in stage won",
        time="all time",
        period_rule=PeriodRule.ALL_TIME,
        unit=Unit.MONEY,
    ),
    Metric(
        key="lead_to_won_rate",
        label="Lead to won (campaign leads)",
        definition="Of the campaign leads, the share won.",
        numerator="campaign leads in stage won",
        denominator="campaign leads",
        time="all time",
        period_rule=PeriodRule.ALL_TIME,
        unit=Unit.PERCENT,
    ),
    Metric(
        key="commitment_volume",
        label="Commitment: hand-offs against target",
        definition="Leads handed off in the commitment's current period, as a share of its "
        "target volume (may pass 100%).",
        numerator="handed off in the commitment's period",
        denominator="the commitment's target",
        time="the hand-off event",
        period_rule=PeriodRule.COMMITMENT,
        unit=Unit.PERCENT,
    ),
    Metric(
        key="commitment_acceptance",
        label="Commitment: acceptance rate (of all hand-offs)",
        definition="Acceptance rate (of all hand-offs) over the commitment's current period, "
        "compared with its minimum.",
        numerator="accepted",
        denominator="handed off in the commitment's period",
        time="the hand-off event",
        period_rule=PeriodRule.COMMITMENT,
        unit=Unit.PERCENT,
    ),
)

# Per-reason counts of `rejected`: one figure per managed reason, keyed rejected_by_reason.
REJECTED_BY_REASON = Metric(
    key="rejected_by_reason",
    label="Rejected by reason",
    definition="The leads counted in 'Rejected by sales', by the reason sales gave.",
    numerator="rejected leads with that reason",
    denominator="",
    time="the rejection event",
    period_rule=PeriodRule.HANDED_OFF,
    unit=Unit.COUNT,
)
# Every metric, as the Definitions page and the API list them.
CATALOGUE: tuple[Metric, ...] = (*METRICS, REJECTED_BY_REASON)
BY_KEY: dict[str, Metric] = {metric.key: metric for metric in CATALOGUE}

# Sales' promises goal by goal: compliance and times to goal, in the order pages show them.
PER_GOAL: tuple[str, ...] = (
    "sla_compliance_accept",
    "time_to_accept_median",
    "time_to_accept_p90",
    "sla_compliance_first_touch",
    "time_to_first_touch_median",
    "time_to_first_touch_p90",
    "sla_compliance_exit_stage",
)

"""Campaign writes: create, edit, record a month's spend, archive. Marketing and managers.

A campaign's spend is recorded per calendar month (CampaignSpend), so cost per lead can follow
spend over time; `Campaign.spend` is their total, rewritten in the same transaction. Every
change appends a CampaignEvent.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from crm.errors import DomainError, ErrorCode
from crm.models import User
from leads import permissions
from leads.models import (
    Campaign,
    CampaignEvent,
    CampaignSpend,
    field_max_amount,
    field_max_length,
)
from leads.services.cleaning import clean_text, clean_value

EDITABLE = ("name", "channel", "starts_on", "ends_on", "budget")


def _require(actor: User) -> None:
    permissions.require(
        permissions.can_manage_catalog(actor), "Only marketing or managers manage campaigns."
    )


def _log(
    campaign: Campaign, actor: User, kind: str, changes: dict[str, Any], now: datetime
) -> None:
    CampaignEvent.objects.create(
        campaign=campaign, actor=actor, kind=kind, changes=changes, created_at=now
    )


@transaction.atomic
def campaign_create(
    *,
    actor: User,
    name: str,
    channel: str = Campaign.Channel.OTHER,
    starts_on: date | None = None,
    ends_on: date | None = None,
    budget: Decimal | str | int = 0,
    spend: Decimal | str | int = 0,
    now: datetime | None = None,
) -> Campaign:
    """A new campaign. Spend given here is the spend of its first month (or this month)."""
    _require(actor)
    now = now or timezone.now()
    values = _clean_campaign(
        name=name, channel=channel, starts_on=starts_on, ends_on=ends_on, budget=budget
    )
    spend = clean_value(spend, "spend", field_max_amount(Campaign, "spend")) or Decimal("0")
    _refuse_taken_name(values["name"])
    campaign = Campaign.objects.create(**values)
    _log(campaign, actor, CampaignEvent.Kind.CREATED, _as_text(values), now)
    if spend:
        month = starts_on or timezone.localdate(now)
        _set_month(campaign=campaign, actor=actor, month=month, amount=spend, now=now)
    return campaign


@transaction.atomic
def campaign_update(
    *,
    actor: User,
    campaign: Campaign,
    expected_version: int | None = None,
    now: datetime | None = None,
    **fields: Any,
) -> Campaign:
    """Edit name, channel, dates, budget. `spend` (the API's total) moves this month's spend
    by the difference, so the months still add up to the total."""
    _require(actor)
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if expected_version is not None and expected_version != campaign.version:
        raise DomainError(
            "Someone changed this campaign since you opened it; reload and edit again.",
            code=ErrorCode.STALE,
            field="version",
        )
    unknown = set(fields) - {*EDITABLE, "spend"}
    if unknown:
        raise DomainError(f"Unknown field {sorted(unknown)[0]!r}.", field=sorted(unknown)[0])
    spend = fields.pop("spend", None)
    values = _clean_campaign(**{name: getattr(campaign, name) for name in EDITABLE} | fields)
    _refuse_taken_name(values["name"], exclude=campaign.pk)
    changes = {
        name: [_text(getattr(campaign, name)), _text(value)]
        for name, value in values.items()
        if getattr(campaign, name) != value
    }
    if changes:
        Campaign.objects.filter(pk=campaign.pk).update(**values, version=F("version") + 1)
        _log(campaign, actor, CampaignEvent.Kind.UPDATED, changes, now)
    if spend is not None:
        total = clean_value(spend, "spend", field_max_amount(Campaign, "spend")) or Decimal("0")
        if total != campaign.spend:
            month = timezone.localdate(now).replace(day=1)
            current = _month_amount(campaign, month)
            if current + total - campaign.spend < 0:
                raise DomainError(
                    f"spend cannot drop below {campaign.spend - current}: earlier months hold "
                    "that much; correct those months on the campaign page.",
                    field="spend",
                )
            _set_month(
                campaign=campaign,
                actor=actor,
                month=month,
                amount=current + total - campaign.spend,
                now=now,
            )
    campaign.refresh_from_db()
    return campaign


@transaction.atomic
def campaign_spend_record(
    *,
    actor: User,
    campaign: Campaign,
    month: date,
    amount: Decimal | str | int,
    now: datetime | None = None,
) -> Campaign:
    """Set what the campaign spent in `month` (any day of it); 0 clears the month."""
    _require(actor)
    now = now or timezone.now()
    maximum = field_max_amount(Campaign, "spend")
    cleaned = clean_value(amount, "amount", maximum)
    if cleaned is None:
        raise DomainError("amount is required.", field="amount")
    if not isinstance(month, date):
        raise DomainError("month must be a date.", field="month")
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    current = _month_amount(campaign, month.replace(day=1))
    if campaign.spend - current + cleaned > maximum:
        raise DomainError(f"The campaign's total spend would pass {maximum}.", field="amount")
    _set_month(campaign=campaign, actor=actor, month=month, amount=cleaned, now=now)
    campaign.refresh_from_db()
    return campaign


@transaction.atomic
def campaign_archive(
    *, actor: User, campaign: Campaign, archived: bool = True, now: datetime | None = None
) -> Campaign:
    """Archive (or restore) a campaign: its leads and figures stay; new leads cannot pick it."""
    _require(actor)
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if (campaign.archived_at is not None) == archived:
        return campaign
    campaign.archived_at = now if archived else None
    campaign.version += 1
    campaign.save(update_fields=["archived_at", "version"])
    kind = CampaignEvent.Kind.ARCHIVED if archived else CampaignEvent.Kind.RESTORED
    _log(campaign, actor, kind, {}, now)
    return campaign


def _set_month(
    *, campaign: Campaign, actor: User, month: date, amount: Decimal, now: datetime
) -> None:
    """Write one month's spend and the campaign's new total (the row is locked by callers)."""
    month = month.replace(day=1)
    before = _month_amount(campaign, month)
    if amount == before:
        return
    if amount:
        CampaignSpend.objects.update_or_create(
            campaign=campaign,
            month=month,
            defaults={"amount": amount, "recorded_by": actor, "recorded_at": now},
        )
    else:
        CampaignSpend.objects.filter(campaign=campaign, month=month).delete()
    total = campaign.spends.aggregate(total=Sum("amount"))["total"] or Decimal("0")
    Campaign.objects.filter(pk=campaign.pk).update(spend=total, version=F("version") + 1)
    _log(
        campaign,
        actor,
        CampaignEvent.Kind.SPEND,
        {"month": f"{month:%Y-%m}", "amount": [_text(before), _text(amount)]},
        now,
    )


def _month_amount(campaign: Campaign, month: date) -> Decimal:
    row = CampaignSpend.objects.filter(campaign=campaign, month=month).first()
    return row.amount if row else Decimal("0")


def _refuse_taken_name(name: str, exclude: int | None = None) -> None:
    clash = Campaign.objects.filter(name__iexact=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    if clash.exists():
        raise DomainError(f"A campaign named {name!r} exists.", field="name")


def _clean_campaign(
    *, name: Any, channel: Any, starts_on: Any, ends_on: Any, budget: Any
) -> dict[str, Any]:
    name = clean_text("name", name, field_max_length(Campaign, "name"))
    if not name:
        raise DomainError("name is required.", field="name")
    if channel not in Campaign.Channel.values:
        raise DomainError(f"Unknown channel {channel!r}.", field="channel")
    if starts_on and ends_on and ends_on < starts_on:
        raise DomainError("ends_on is before starts_on.", field="ends_on")
    budget = clean_value(budget, "budget", field_max_amount(Campaign, "budget"))
    return {
        "name": name,
        "channel": channel,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "budget": budget or Decimal("0"),
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _as_text(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _text(value) for name, value in values.items()}

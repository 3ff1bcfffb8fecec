"""In-app notifications: what a person reads, and marking it read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core import signing
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from crm.models import EmailDigest, Notification, User

# The notification kinds that can reach a person by e-mail, as the preferences page names
# them; each can be muted per person (read in the app only).
EMAIL_KINDS: dict[str, str] = {
    "breach.created": "An SLA goal was missed",
    "commitment.missed": "A team commitment was missed",
}


# The event type of a digest e-mail (crm.digest), which gathers the kinds above.
DIGEST_EVENT = "digest"
# An unsubscribe link's "kind" that stops every kind above (the digest's link).
ALL_KINDS = "*"


def holds_for_digest(event_type: str, reader: User | None) -> bool:
    """Whether this e-mail waits for the reader's digest (crm.digest) instead of going now."""
    return (
        reader is not None
        and reader.email_digest != EmailDigest.EACH
        and event_type in EMAIL_KINDS
        and event_type not in reader.email_muted_kinds
    )


def kind_label(kind: str) -> str:
    return "any notification" if kind == ALL_KINDS else EMAIL_KINDS[kind]


def notifications_for_user(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    notifications = Notification.objects.filter(user=user)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications.order_by("-created_at", "-id")


def unread_notification_count(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


@transaction.atomic
def notifications_mark_read(
    *, user: User, notification_ids: Iterable[int] | None = None, now: datetime | None = None
) -> int:
    """Mark the user's notifications read (all of them when no ids are given); others' untouched."""
    now = now or timezone.now()
    notifications = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_ids is not None:
        notifications = notifications.filter(pk__in=list(notification_ids))
    return notifications.update(read_at=now)


def elapsed_in_words(delta: timedelta) -> str:
    """A late goal's lateness, short: "45 min", "2 h", "2 h 15 min", "3 days"."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{minutes // (24 * 60)} days"


@dataclass
class Notice:
    """A notification as a person reads it: its due time (an aware datetime, shown in the
    reader's zone by the page or mail) and how late it is now."""

    notification: Notification
    due_at: datetime | None = None
    overdue: str = ""


@dataclass
class NoticeGroup:
    """The notifications about one lead (or one about no lead), newest first."""

    lead_id: int | None
    lead: str
    url: str
    notices: list[Notice] = field(default_factory=list)

    @property
    def unread(self) -> int:
        return sum(1 for n in self.notices if n.notification.read_at is None)


def notice_for(notification: Notification, *, now: datetime) -> Notice:
    notice = Notice(notification)
    raw = (notification.data or {}).get("due_at")
    if isinstance(raw, str):
        try:
            notice.due_at = datetime.fromisoformat(raw)
        except ValueError:
            return notice
        if notice.due_at.tzinfo is None:
            notice.due_at = None
        elif notice.due_at < now:
            notice.overdue = elapsed_in_words(now - notice.due_at)
    return notice


def notifications_by_lead(
    notifications: Iterable[Notification], *, now: datetime
) -> list[NoticeGroup]:
    """Group newest-first notifications per lead; a group sits where its newest one was."""
    groups: dict[object, NoticeGroup] = {}
    for notification in notifications:
        data = notification.data or {}
        lead_id = data.get("lead_id") if isinstance(data.get("lead_id"), int) else None
        key = lead_id if lead_id is not None else f"n{notification.pk}"
        group = groups.get(key)
        if group is None:
            group = groups[key] = NoticeGroup(
                lead_id=lead_id,
                lead=str(data.get("lead") or "") if lead_id is not None else "",
                url=notification.url if lead_id is not None else "",
            )
        group.notices.append(notice_for(notification, now=now))
    return list(groups.values())


UNSUBSCRIBE_SALT = "handoff.unsubscribe"


def unsubscribe_token(*, user_id: int, kind: str) -> str:
    """A link's proof that it was mailed to this person about this kind (no sign-in needed)."""
    return signing.dumps({"u": user_id, "k": kind}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_read(token: str) -> tuple[int, str] | None:
    """(user id, kind) from a token, or None when it was not made here."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    if data.get("k") not in EMAIL_KINDS and data.get("k") != ALL_KINDS:
        return None
    return data["u"], data["k"]


@transaction.atomic
def email_kind_mute(*, user_id: int, kind: str) -> bool:
    """Stop e-mailing `kind` (every kind for ALL_KINDS) to the person; they still read it in
    the app. True if changed."""
    user = User.objects.select_for_update().filter(pk=user_id).first()
    kinds = set(EMAIL_KINDS) if kind == ALL_KINDS else {kind}
    if user is None or kinds <= set(user.email_muted_kinds):
        return False
    user.email_muted_kinds = sorted({*user.email_muted_kinds, *kinds})
    user.save(update_fields=["email_muted_kinds"])
    return True

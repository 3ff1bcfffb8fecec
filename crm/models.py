from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


class Team(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    SALES = "sales", "Sales"


class Role(models.TextChoices):
    MARKETER = "marketer", "Marketer"
    SALES_REP = "sales_rep", "Sales rep"
    MANAGER = "manager", "Manager"
    INTEGRATION = "integration", "Integration"


ROLE_TEAM: dict[str, str | None] = {
    Role.MARKETER: Team.MARKETING,
    Role.SALES_REP: Team.SALES,
    Role.INTEGRATION: Team.MARKETING,  # integrations post leads on marketing's behalf
    Role.MANAGER: None,  # managers may belong to a team but are not bound by one
}


class EmailDigest(models.TextChoices):
    """How a person's notification e-mails reach them: one per event, or gathered."""

    EACH = "", "One e-mail per notification"
    HOURLY = "hourly", "One e-mail an hour, gathering them"
    DAILY = "daily", "One e-mail a day, at the hour chosen"


class User(AbstractUser):
    """A person (or an integration's service account) with one role in one team."""

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MARKETER)
    team = models.CharField(max_length=20, choices=Team.choices, blank=True, default="")
    # IANA zone the pages and e-mails show this person's times in; blank: settings.TIME_ZONE,
    # the team's working zone.
    time_zone = models.CharField(max_length=64, blank=True, default="")
    # Notification kinds (event types) this person reads in the app only, never by e-mail.
    email_muted_kinds = models.JSONField(default=list, blank=True)
    # Blank: each notification e-mailed on its own; else gathered into a digest
    # (crm.digest), a daily one at `email_digest_hour` o'clock in the person's zone.
    email_digest = models.CharField(
        max_length=10, blank=True, default=EmailDigest.EACH, choices=EmailDigest.choices
    )
    email_digest_hour = models.PositiveSmallIntegerField(default=8)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="user_email_digest_valid",
                condition=models.Q(email_digest__in=EmailDigest.values),
            ),
            models.CheckConstraint(
                name="user_email_digest_hour_range", condition=models.Q(email_digest_hour__lte=23)
            ),
            models.CheckConstraint(
                name="user_role_valid", condition=models.Q(role__in=Role.values)
            ),
            models.CheckConstraint(
                name="user_team_valid", condition=models.Q(team__in=[*Team.values, ""])
            ),
            models.CheckConstraint(
                name="user_team_follows_role",
                condition=models.Q(role=Role.MANAGER)
                | models.Q(role=Role.MARKETER, team=Team.MARKETING)
                | models.Q(role=Role.INTEGRATION, team=Team.MARKETING)
                | models.Q(role=Role.SALES_REP, team=Team.SALES),
            ),
        ]

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


# ---------------------------------------------------------------- notifications and outbox


class HistoryEvent(models.Model):
    """One line of an append-only history (a campaign's, a commitment's, a decision's): who
    did what when, and `changes` as {"field": [before, after]} in text."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]


class Notification(models.Model):
    """An in-app message for one person; `delivery_key` makes each delivery happen once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    # What the page needs to say it in the reader's words and zone: {"lead_id", "lead",
    # "due_at" (ISO 8601)}; notifications about one lead are grouped by "lead_id".
    data = models.JSONField(default=dict, blank=True)
    delivery_key = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # A constraint rather than `unique=True`: on PostgreSQL that would also build a
        # pattern-match index nothing reads, paid for on every insert.
        constraints = [
            models.UniqueConstraint(fields=["delivery_key"], name="notification_delivery_key_uniq")
        ]
        indexes = [
            # notifications_for_user(unread_only=True): the bell's unread count.
            models.Index(
                fields=["user", "-created_at"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
            models.Index(fields=["user", "-created_at"], name="notification_user_time_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class OutboxChannel(models.TextChoices):
    IN_APP = "in_app", "In-app"
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"
    # One row standing for an event's deliveries: the drain expands it into the rows above.
    FAN_OUT = "fan_out", "Fan-out"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    # E-mails only: waiting for the recipient's digest (crm.digest), then put in one.
    HELD = "held", "Held for a digest"
    DIGESTED = "digested", "Sent in a digest"


class OutboxMessage(models.Model):
    """Something that must reach a person or a system, written in the causing transaction.

    The drain claims a row with a short lease (`claimed_until`), delivers it and records the
    outcome; a worker that dies mid-delivery leaves a lease that simply expires.
    """

    Channel = OutboxChannel
    Status = OutboxStatus

    channel = models.CharField(max_length=10, choices=OutboxChannel.choices)
    delivery_key = models.CharField(max_length=200)
    # Indexed where set (outbox_recipient_idx): fan-outs and webhooks have no recipient.
    recipient = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    target = models.CharField(max_length=300, blank=True)  # email address or endpoint id
    event_type = models.CharField(max_length=60)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                name="outbox_channel_valid", condition=models.Q(channel__in=OutboxChannel.values)
            ),
            models.CheckConstraint(
                name="outbox_status_valid", condition=models.Q(status__in=OutboxStatus.values)
            ),
            models.UniqueConstraint(fields=["delivery_key"], name="outbox_delivery_key_uniq"),
        ]
        indexes = [
            # crm.outbox.outbox_drain: only pending rows are ever scanned.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="outbox_pending_due_idx",
            ),
            # crm.digest.email_digests_send: the mails waiting for a digest, per person.
            models.Index(
                fields=["recipient", "created_at"],
                condition=models.Q(status="held"),
                name="outbox_held_recipient_idx",
            ),
            models.Index(
                fields=["recipient"],
                condition=models.Q(recipient__isnull=False),
                name="outbox_recipient_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.delivery_key


# ---------------------------------------------------------------- REST API keys and idempotency


class ApiScope(models.TextChoices):
    LEADS_READ = "leads:read", "Read leads, catalog and metrics"
    LEADS_WRITE = "leads:write", "Create and change leads"
    SLA_READ = "sla:read", "Read SLA policies, clocks and breaches"
    MANAGE = "manage", "Manage campaigns, personas, definitions and SLA reviews"


class ApiKey(models.Model):
    """An integration's credential. Only a SHA-256 digest of the secret is stored.

    The key acts as `user` (an integration account by default), so history names the
    integration; `scopes` limit what the key may do on top of that user's role rights.
    """

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)  # public part, shown in lists
    key_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_keys")
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class IdempotencyRecord(models.Model):
    """The first response to a POST sent with an Idempotency-Key, replayed on retries.

    The row is inserted (and committed) before the work starts, so the unique constraint
    decides which of several concurrent requests does the work; `status_code` stays null
    until that request finishes.
    """

    owner = models.CharField(max_length=40)  # "key:<id>" or "user:<id>"
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)  # searchable (erasure scrubs it)
    # The answer's bytes as sent: jsonb reorders keys, and a replay must be byte-identical.
    response_content = models.BinaryField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_owner_key_uniq"),
        ]
        # purge_idempotency_records deletes by age.
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.owner} {self.key}"

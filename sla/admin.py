from django.contrib import admin

from leads.admin import ReadOnlyAdmin
from sla.models import (
    Breach,
    BusinessCalendar,
    Commitment,
    CommitmentResult,
    SlaClock,
    SlaPolicy,
    WebhookDelivery,
    WebhookEndpoint,
)


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ("name", "timezone", "updated_at")


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "goal", "trigger_stage", "target", "accountable_team", "active")
    list_filter = ("goal", "trigger_stage", "accountable_team", "active")


@admin.register(SlaClock)
class SlaClockAdmin(admin.ModelAdmin):
    list_display = ("lead", "policy", "cycle", "state", "started_at", "due_at", "met_at")
    list_filter = ("state", "policy")
    raw_id_fields = ("lead", "owner")
    # Clocks change only through the lead services and the sweep.
    readonly_fields = [f.name for f in SlaClock._meta.fields]


@admin.register(Breach)
class BreachAdmin(admin.ModelAdmin):
    list_display = ("summary", "kind", "team", "breached_at", "processed_at", "acknowledged_at")
    list_filter = ("kind", "team")
    readonly_fields = [f.name for f in Breach._meta.fields]


@admin.register(Commitment)
class CommitmentAdmin(ReadOnlyAdmin):
    """Written and edited on the SLA pages (sla.services), which check and record each change."""

    list_display = ("name", "team", "period", "target_qualified", "min_acceptance_rate", "active")


@admin.register(CommitmentResult)
class CommitmentResultAdmin(admin.ModelAdmin):
    list_display = ("commitment", "period_start", "qualified", "accepted", "met")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "format", "active")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("endpoint", "delivery_key", "attempt", "status_code", "succeeded", "created_at")
    list_filter = ("succeeded", "endpoint")

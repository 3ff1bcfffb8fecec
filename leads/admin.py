"""Admin screens. History and activities are read-only: they are the audit trail."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from leads.models import (
    Activity,
    AssignmentCursor,
    Campaign,
    Lead,
    LeadEvent,
    Persona,
    QualificationCriterion,
    Reason,
    StageDefinition,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class CriterionInline(ReadOnlyInline):
    model = QualificationCriterion
    fields = ("position", "key", "label", "required")


@admin.register(StageDefinition)
class StageDefinitionAdmin(ReadOnlyAdmin):
    """Definitions are published through the definitions service so versions are kept."""

    list_display = ("stage", "version", "title", "owner_team", "is_current", "created_at")
    list_filter = ("stage", "is_current", "owner_team")
    search_fields = ("title", "description")
    inlines = [CriterionInline]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "channel", "starts_on", "ends_on", "budget", "spend")
    list_filter = ("channel",)
    search_fields = ("name",)


@admin.register(Persona)
class PersonaAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name", "description")


@admin.register(Reason)
class ReasonAdmin(admin.ModelAdmin):
    list_display = ("label", "kind", "active")
    list_filter = ("kind", "active")
    search_fields = ("label",)


class EventInline(ReadOnlyInline):
    model = LeadEvent
    fields = ("created_at", "kind", "actor", "from_stage", "to_stage", "changes", "note")
    readonly_fields = fields
    ordering = ("-created_at",)


class ActivityInline(ReadOnlyInline):
    model = Activity
    fields = ("occurred_at", "kind", "actor", "summary")
    readonly_fields = fields


@admin.register(Lead)
class LeadAdmin(ReadOnlyAdmin):
    """Leads change only through the lifecycle services (history, clocks, locking)."""

    list_display = ("id", "email", "company", "stage", "owner_team", "owner", "created_at")
    list_filter = ("stage", "owner_team", "campaign", "persona", "source")
    search_fields = ("email", "first_name", "last_name", "company", "external_id")
    list_select_related = ("owner",)
    inlines = [ActivityInline, EventInline]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(LeadEvent)
class LeadEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "lead", "kind", "actor", "from_stage", "to_stage")
    list_filter = ("kind", "to_stage")
    search_fields = ("lead__email", "note")
    list_select_related = ("lead", "actor")


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "lead", "kind", "actor")
    list_filter = ("kind",)
    search_fields = ("lead__email", "summary")
    list_select_related = ("lead", "actor")


@admin.register(AssignmentCursor)
class AssignmentCursorAdmin(ReadOnlyAdmin):
    list_display = ("name", "last_user")

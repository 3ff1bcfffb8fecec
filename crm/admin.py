from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from crm.models import User


@admin.register(User)
class HandoffUserAdmin(UserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "role", "team", "is_active")
    list_filter = ("role", "team", "is_active")
    search_fields = ("username", "email", "first_name", "last_name")
    fieldsets = (*UserAdmin.fieldsets, ("Handoff", {"fields": ("role", "team")}))
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Handoff", {"fields": ("role", "team")}))

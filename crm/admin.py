from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from crm.errors import DomainError
from crm.keys import api_key_create, api_key_revoke, require_scopes_within_role
from crm.models import ApiKey, ApiScope, User


@admin.register(User)
class HandoffUserAdmin(UserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "role", "team", "is_active")
    list_filter = ("role", "team", "is_active")
    search_fields = ("username", "email", "first_name", "last_name")
    fieldsets = (*UserAdmin.fieldsets, ("Handoff", {"fields": ("role", "team")}))
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Handoff", {"fields": ("role", "team")}))


# ---------------------------------------------------------------- API keys


class ApiKeyCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiKey
        fields = ("name", "user", "scopes")
        help_texts = {"user": "Leave empty to create an integration account for this key."}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].required = False

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        try:
            require_scopes_within_role(scopes=cleaned.get("scopes") or [], user=cleaned.get("user"))
        except DomainError as refused:
            self.add_error("scopes", refused.message)
        return cleaned


@admin.action(description="Revoke selected keys")
def revoke_keys(_modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: object) -> None:
    for api_key in queryset:  # type: ignore[attr-defined]
        api_key_revoke(api_key=api_key, actor=request.user)
    messages.success(request, "Revoked.")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are issued through the service: the secret is shown once, then only its digest."""

    list_display = ("name", "prefix", "user", "scopes", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username")
    actions = [revoke_keys]
    readonly_fields = ("prefix", "user", "scopes", "created_at", "created_by", "last_used_at")
    exclude = ("key_hash",)

    def get_form(self, request: HttpRequest, obj: object = None, **kwargs: object) -> object:
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> tuple[str, ...]:
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        if obj is None:
            return ["name", "user", "scopes"]
        return ["name", *self.readonly_fields, "revoked_at"]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: object, change: bool) -> None:
        if change:
            if obj.revoked_at and not ApiKey.objects.get(pk=obj.pk).revoked_at:
                api_key_revoke(api_key=obj, actor=request.user)
            ApiKey.objects.filter(pk=obj.pk).update(name=obj.name)
            return
        issued = api_key_create(
            actor=request.user,
            name=obj.name,
            scopes=form.cleaned_data["scopes"],  # type: ignore[attr-defined]
            user=form.cleaned_data.get("user"),  # type: ignore[attr-defined]
        )
        obj.pk = issued.api_key.pk
        obj.refresh_from_db()
        messages.warning(
            request,
            f"API key for {obj.name}: {issued.raw_key} — copy it now; it is not shown again.",
        )

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # revoke instead: history keeps naming the key's account

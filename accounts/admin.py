from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from accounts.models import ApiToken, Notification, Organization, Region, User


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "social_credit_code", "region", "hospital_grade"]
    list_filter = ["kind", "region", "hospital_grade"]
    search_fields = ["name", "name_en", "social_credit_code"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "organization", "is_staff", "is_active"]
    fieldsets = (*BaseUserAdmin.fieldsets, ("Jicai", {"fields": ("organization", "language")}))  # type: ignore[misc]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only: notifications are sent by the apps' services (``accounts.notifications``)."""

    list_display = ["organization", "kind", "subject", "created_at", "read_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Staff may see and revoke (delete) API tokens; a token is created only by its owner
    on the API token page, where it is shown once (docs/security.md)."""

    list_display = ["name", "user", "token_key", "created", "expiry"]
    list_filter = ["created", "expiry"]
    search_fields = ["name", "token_key", "user__username"]
    fields = ["name", "user", "token_key", "created", "expiry"]
    readonly_fields = ["name", "user", "token_key", "created", "expiry"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

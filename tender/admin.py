"""Read-only admin pages: every change here is made by the services (and is published)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from tender.models import Amendment, AmendmentChange, Clarification, ProcurementDocumentVersion


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ChangeInline(admin.TabularInline):
    model = AmendmentChange
    extra = 0
    can_delete = False
    readonly_fields = [
        "position",
        "kind",
        "field",
        "round_item",
        "specification",
        "old_value",
        "new_value",
        "material",
        "automatic",
    ]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Amendment)
class AmendmentAdmin(ReadOnly):
    list_display = ["round", "number", "published_at", "material"]
    inlines = [ChangeInline]


@admin.register(ProcurementDocumentVersion)
class DocumentVersionAdmin(ReadOnly):
    list_display = ["round", "number", "published_at", "content_sha256"]
    exclude = ["content"]


@admin.register(Clarification)
class ClarificationAdmin(ReadOnly):
    list_display = ["round", "number", "status", "asked_at", "answered_at"]

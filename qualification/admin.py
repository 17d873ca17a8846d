"""Read-only admin pages: registrations, documents and reviews change only through the
services (the office's pages), so that every decision is in the history."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from qualification.models import (
    DocumentReview,
    QualificationDocument,
    RegistrationRequest,
    RoundQualificationRule,
)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReviewInline(admin.TabularInline):
    model = DocumentReview
    extra = 0
    can_delete = False
    readonly_fields = ["action", "by", "at", "note", "sha256"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(QualificationDocument)
class QualificationDocumentAdmin(ReadOnly):
    list_display = ["organization", "kind", "product", "number", "valid_until", "status"]
    list_filter = ["kind", "status"]
    search_fields = ["number", "organization__name", "organization__social_credit_code"]
    list_select_related = ["organization", "product"]
    inlines = [ReviewInline]


@admin.register(RegistrationRequest)
class RegistrationRequestAdmin(ReadOnly):
    list_display = ["name", "kind", "social_credit_code", "status", "submitted_at"]
    list_filter = ["kind", "status"]
    search_fields = ["name", "social_credit_code", "username"]
    exclude = ["password"]


@admin.register(RoundQualificationRule)
class RoundQualificationRuleAdmin(ReadOnly):
    list_display = ["round", "required", "changed_by", "changed_at"]

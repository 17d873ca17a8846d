"""Admin views of the award, read-only: every change goes through the services (and their
audit), so the admin shows the records and never edits them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from awards.models import AuditEntry, EvaluationRun, LostVolumeChoice, Objection


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EvaluationRun)
class EvaluationRunAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "round",
        "rule_set",
        "status",
        "is_official",
        "is_scenario",
        "is_selection",
        "is_hospital_choice",
        "solver_status",
        "total_cost",
        "finished_at",
    ]
    list_filter = ["status", "is_official", "is_scenario", "is_selection", "is_hospital_choice"]
    list_select_related = ["round", "rule_set"]
    # The result document (up to a million hospital lines) is never loaded here.
    exclude = ["result"]


@admin.register(LostVolumeChoice)
class LostVolumeChoiceAdmin(ReadOnlyAdmin):
    """The hospitals' choices for the volume of their losing products (consumable rounds):
    what the choice run (``EvaluationRun.is_hospital_choice``) read. Made on the hospitals'
    page only (``awards.services.reassignment``), so read-only here like the rest."""

    list_display = ["round_item", "hospital", "rank", "winner", "by", "at"]
    list_filter = ["round_item__round"]
    list_select_related = [
        "round_item__round",
        "round_item__item",
        "hospital",
        "opened_bid__manufacturer",
        "by",
    ]
    search_fields = ["hospital__name", "round_item__item__code", "round_item__round__code"]
    ordering = ["round_item__round", "round_item", "hospital", "rank"]

    @admin.display(description=_("winner"), ordering="opened_bid__manufacturer__name")
    def winner(self, choice: LostVolumeChoice) -> str:
        return str(choice.opened_bid.manufacturer)


@admin.register(Objection)
class ObjectionAdmin(ReadOnlyAdmin):
    list_display = ["pk", "round", "round_item", "organization", "status", "filed_at"]
    list_filter = ["status"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["round", "action", "by", "at"]
    list_filter = ["action"]

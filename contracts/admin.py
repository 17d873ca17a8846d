"""Admin views of contracts and their execution, read-only like the award's
(``awards.admin``): every change goes through the services."""

from __future__ import annotations

from django.contrib import admin

from awards.admin import ReadOnlyAdmin
from contracts.models import Contract, Purchase, SupplyFailure


@admin.register(Contract)
class ContractAdmin(ReadOnlyAdmin):
    list_display = ["number", "round", "hospital", "manufacturer", "status", "total"]
    list_filter = ["status"]
    search_fields = ["number"]
    exclude = ["pdf_zh", "pdf_en"]


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = ["contract", "round_item", "month", "quantity", "channel", "recorded_at"]


@admin.register(SupplyFailure)
class SupplyFailureAdmin(ReadOnlyAdmin):
    list_display = ["pk", "round", "round_item", "region", "manufacturer", "status"]

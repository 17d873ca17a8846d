"""Read-only admin for sealed bidding. Sealed fields (ciphertext, nonce, wrapped key) are
never shown, and nothing can be added, changed or deleted here: every change goes through
the services, and the decryption audit log is append-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from bidding.models import (
    Bid,
    BidVersion,
    CeremonyEvent,
    DecryptionAudit,
    OpenedBid,
    Opening,
    OpeningOfficial,
    RoundCustody,
    RoundKey,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Bid)
class BidAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "round",
        "round_item",
        "specification",
        "manufacturer",
        "status",
        "current_version",
        "updated_at",
        "locked_at",
    ]
    list_filter = ["status", "round"]
    fields = [
        "round",
        "round_item",
        "specification",
        "manufacturer",
        "lineage_product",
        "status",
        "current_version",
        "created_at",
        "updated_at",
        "locked_at",
    ]


@admin.register(BidVersion)
class BidVersionAdmin(ReadOnlyAdmin):
    list_display = ["id", "bid", "number", "action", "manufacturer", "server_time", "receipt_hash"]
    list_filter = ["action"]
    # No nonce, no ciphertext: there is nothing readable in them, and nothing to gain.
    fields = [
        "bid",
        "number",
        "action",
        "product",
        "manufacturer",
        "server_time",
        "submitted_by",
        "receipt_hash",
        "idempotency_key",
    ]


@admin.register(RoundKey)
class RoundKeyAdmin(ReadOnlyAdmin):
    list_display = ["round", "master_key_fingerprint", "created_at", "rewrapped_at"]
    fields = ["round", "master_key_fingerprint", "created_at", "rewrapped_at"]


@admin.register(RoundCustody)
class RoundCustodyAdmin(ReadOnlyAdmin):
    list_display = ["round", "threshold", "key_generated_at", "designated_by", "designated_at"]
    fields = ["round", "threshold", "key_generated_at", "designated_by", "designated_at"]


@admin.register(OpeningOfficial)
class OpeningOfficialAdmin(ReadOnlyAdmin):
    # No sealed share, no custody key, no held share: nothing readable, nothing to gain.
    list_display = ["custody", "user", "share_index", "enrolled_at", "presented_at"]
    fields = ["custody", "user", "share_index", "enrolled_at", "presented_at"]


@admin.register(CeremonyEvent)
class CeremonyEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "round", "kind", "user", "note"]
    list_filter = ["kind"]
    fields = ["at", "round", "kind", "user", "note"]


@admin.register(DecryptionAudit)
class DecryptionAuditAdmin(ReadOnlyAdmin):
    list_display = ["at", "by", "organization", "bid_version", "purpose", "note"]
    list_filter = ["purpose"]
    fields = ["at", "by", "organization", "bid_version", "purpose", "note"]


@admin.register(Opening)
class OpeningAdmin(ReadOnlyAdmin):
    list_display = [
        "round",
        "opened_at",
        "opened_by",
        "trigger",
        "bid_count",
        "valid_count",
        "tampered_count",
    ]


@admin.register(OpenedBid)
class OpenedBidAdmin(ReadOnlyAdmin):
    list_display = [
        "opening",
        "round_item",
        "manufacturer",
        "specification",
        "unit_price",
        "unit_comparable_price",
        "validity",
        "receipt_hash",
    ]
    list_filter = ["validity"]

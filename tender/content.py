"""The structured procurement document: what a round holds when a version is published.

``document_content`` reads the round (rules and their periods, timetable, items,
specifications, ceilings, reference prices, the pooled demand per specification) and the
amendments published so far, and returns plain JSON data. A version stores it as it was,
so its page, its PDFs and the API show that version and not the round as it is now; its
SHA-256 (``content_sha256``, of the canonical JSON) identifies it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import F, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from procurement.models import DemandDeclaration, Round
from procurement.periods import effective_periods
from tender.models import Amendment

FORMAT = "jicai-procurement-document/1"
TIMETABLE = (
    "demand_opens_at",
    "demand_closes_at",
    "bid_deadline",
    "opening_at",
    "objection_ends_at",
    "contract_starts_on",
)


def moment_text(value: datetime.datetime | datetime.date) -> str:
    """A timetable value as the document states it: China Standard Time to the second
    (with its offset), or a date."""
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    return value.isoformat()


def price_text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.4f}"


def canonical_sha256(content: dict[str, Any]) -> str:
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _pooled_demand(round_: Round) -> dict[tuple[int, int], int]:
    """Declared annual quantity per (round item, specification), smallest units: drugs
    declare per specification, consumables per product (of one specification)."""
    rows = (
        DemandDeclaration.objects.filter(round_item__round=round_)
        .annotate(spec=Coalesce(F("specification_id"), F("product__specification_id")))
        .values("round_item_id", "spec")
        .annotate(total=Sum("quantity"))
    )
    return {(r["round_item_id"], r["spec"]): int(r["total"]) for r in rows}


def _amendments(round_: Round) -> list[dict[str, Any]]:
    notices = []
    for amendment in (
        Amendment.objects.filter(round=round_)
        .prefetch_related("changes__round_item__item", "changes__specification")
        .order_by("number")
    ):
        notices.append(
            {
                "number": amendment.number,
                "published_at": moment_text(amendment.published_at),
                "reason": amendment.reason,
                "reason_en": amendment.reason_en,
                "material": amendment.material,
                "changes": [
                    {
                        "kind": change.kind,
                        "field": change.field,
                        "item": change.round_item.item.code if change.round_item else None,
                        "specification": change.specification.code
                        if change.specification
                        else None,
                        "specification_label": change.specification.label
                        if change.specification
                        else None,
                        "old": change.old_value,
                        "new": change.new_value,
                        "material": change.material,
                        "automatic": change.automatic,
                    }
                    for change in amendment.changes.all()
                ],
            }
        )
    return notices


def document_content(round_: Round) -> dict[str, Any]:
    """The round's procurement document as it stands, with every amendment published."""
    rule_set = round_.rule_set
    office = round_.office
    pooled = _pooled_demand(round_)
    items = []
    for round_item in round_.items.select_related("item").prefetch_related(
        "item__specifications", "ceilings"
    ):
        item = round_item.item
        ceilings = {c.specification_id: c.max_valid_bid_price for c in round_item.ceilings.all()}
        specifications: list[dict[str, Any]] = [
            {
                "code": spec.code,
                "label": spec.label,
                "representative": spec.is_representative,
                "ceiling": price_text(ceilings.get(spec.pk)),
                "pooled_demand": pooled.get((round_item.pk, spec.pk), 0),
            }
            for spec in item.specifications.all()
        ]
        items.append(
            {
                "code": item.code,
                "name": item.name,
                "name_en": item.name_en,
                "unit": item.unit_of_count,
                "unit_en": item.unit_of_count_en,
                "reference_price": price_text(round_item.reference_price),
                "pooled_demand": sum(s["pooled_demand"] for s in specifications),
                "specifications": specifications,
            }
        )
    return {
        "format": FORMAT,
        "round": {
            "code": round_.code,
            "name": round_.name,
            "name_en": round_.name_en,
            "kind": round_.kind,
            "office": {
                "name": office.name,
                "name_en": office.name_en,
                "credit_code": office.social_credit_code,
            },
            "regions": [
                {"code": r.code, "name": r.name_zh, "name_en": r.name_en}
                for r in round_.regions.order_by("code")
            ],
        },
        "rule_set": {
            "name": rule_set.name,
            "version": rule_set.version,
            "kind": rule_set.kind,
            "parameters": rule_set.parameters,
            "periods": effective_periods(rule_set),
        },
        "timetable": {field: moment_text(getattr(round_, field)) for field in TIMETABLE},
        "items": items,
        "amendments": _amendments(round_),
    }


def pooled_by_item(content: dict[str, Any]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for item in content["items"]:
        totals[item["code"]] += item["pooled_demand"]
    return dict(totals)

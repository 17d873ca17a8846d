"""The catalog's spreadsheet imports: organizations and products.

Each is one ``<thing>_import(*, data, filename, max_bytes, commit) -> ImportOutcome``: a
preview with ``commit=False``, all rows or none with ``commit=True`` (``common.uploads``
says how every import works and keeps the file between the two).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from django.utils.translation import gettext as _

from accounts.models import USCC_MESSAGES, Organization, Region
from accounts.services import organization_upsert
from accounts.uscc import USCCError, validate_uscc
from catalog.models import ProcurementItem, Product, ProductKind, Specification
from catalog.services import product_register
from common.spreadsheets import ROW, Column, ColumnKind, RowError
from common.uploads import (
    MAX_ROWS_IN_REQUEST,
    ImportOutcome,
    action_for,
    outcome_commit,
    outcome_of,
    row_arguments,
    run_reader,
)

# --- organizations -----------------------------------------------------------------------

ORGANIZATION_COLUMNS = [
    Column("kind", ("类型", "kind")),
    Column("name", ("名称", "name")),
    Column("name_en", ("英文名称", "English name"), required=False, allow_blank=True),
    Column(
        "social_credit_code",
        ("统一社会信用代码", "unified social credit code", "social credit code"),
        kind=ColumnKind.CODE,
    ),
    Column("region", ("省份", "地区", "region", "province")),
    Column("hospital_grade", ("医院等级", "hospital grade"), required=False, allow_blank=True),
]

_KIND_WORDS = {
    "office": Organization.Kind.OFFICE,
    "采购办": Organization.Kind.OFFICE,
    "采购办公室": Organization.Kind.OFFICE,
    "procurement office": Organization.Kind.OFFICE,
    "hospital": Organization.Kind.HOSPITAL,
    "医院": Organization.Kind.HOSPITAL,
    "医疗机构": Organization.Kind.HOSPITAL,
    "manufacturer": Organization.Kind.MANUFACTURER,
    "生产企业": Organization.Kind.MANUFACTURER,
    "企业": Organization.Kind.MANUFACTURER,
}
_GRADE_WORDS = {"1": 1, "2": 2, "3": 3, "一级": 1, "二级": 2, "三级": 3}


def _region_lookup() -> dict[str, Region]:
    lookup: dict[str, Region] = {}
    for region in Region.objects.all():
        for key in (region.code, region.name_zh, region.name_en.lower()):
            lookup[key] = region
    return lookup


def organization_import(
    *, data: bytes, filename: str, max_bytes: int, commit: bool
) -> ImportOutcome:
    """Import organizations keyed by their unified social credit code.

    Concurrency: each row is written by ``organization_upsert`` (get_or_create on the
    unique credit code) inside one transaction, so a concurrent import of the same code
    fails on the unique constraint and rolls back whole rather than duplicating.
    """
    sheet = run_reader(
        data=data,
        filename=filename,
        columns=ORGANIZATION_COLUMNS,
        max_bytes=max_bytes,
        unique_by=("social_credit_code",),
        max_rows=MAX_ROWS_IN_REQUEST,
    )
    if isinstance(sheet, str):
        return ImportOutcome.refused(sheet)
    regions = _region_lookup()
    existing = {
        o.social_credit_code: o
        for o in Organization.objects.filter(
            social_credit_code__in=list(sheet.frame["social_credit_code"])
        )
    }
    outcome, resolved = outcome_of(
        sheet,
        lambda record: _organization_row(
            record, label=sheet.column_label, regions=regions, existing=existing
        ),
        describe=lambda r: f"{r['social_credit_code']} {r['name']}",
    )
    if commit:
        outcome_commit(outcome, resolved, write=lambda r: organization_upsert(**row_arguments(r)))
    return outcome


def _organization_row(
    record: dict[str, Any],
    *,
    label: Callable[[str], str],
    regions: dict[str, Region],
    existing: dict[str, Organization],
) -> tuple[dict[str, Any], list[RowError]]:
    """One row resolved (its action, ``code`` and the organization's fields), or its errors."""
    row = int(record[ROW])
    errors: list[RowError] = []
    kind = _KIND_WORDS.get(str(record["kind"]).strip().lower())
    if kind is None:
        errors.append(
            RowError(
                row,
                label("kind"),
                _("“%(value)s” is not a kind of organization (hospital, manufacturer, office).")
                % {"value": record["kind"]},
            )
        )
    try:
        code = validate_uscc(record["social_credit_code"])
    except USCCError as exc:
        errors.append(
            RowError(row, label("social_credit_code"), str(USCC_MESSAGES[exc.reason] % exc.params))
        )
        code = record["social_credit_code"]
    region_text = str(record["region"]).strip()
    region = regions.get(region_text) or regions.get(region_text.lower())
    if region is None:
        errors.append(
            RowError(
                row,
                label("region"),
                _("“%(value)s” is not a province code or name.") % {"value": region_text},
            )
        )
    grade_text = str(record.get("hospital_grade") or "").strip()
    grade = _GRADE_WORDS.get(grade_text) if grade_text else None
    if kind == Organization.Kind.HOSPITAL and grade is None:
        errors.append(
            RowError(row, label("hospital_grade"), _("a hospital needs a grade (1, 2 or 3)."))
        )
    if kind and kind != Organization.Kind.HOSPITAL and grade_text:
        errors.append(RowError(row, label("hospital_grade"), _("only hospitals have a grade.")))
    if errors:
        return {}, errors
    values = {
        "kind": kind,
        "name": str(record["name"]).strip(),
        "name_en": str(record.get("name_en") or "").strip(),
        "region": region,
        "hospital_grade": grade,
    }
    current = existing.get(code)
    differs = current is not None and any(getattr(current, k) != v for k, v in values.items())
    action = action_for(current, differs=differs)
    return {ROW: row, "action": action, "social_credit_code": code, **values}, []


# --- products ----------------------------------------------------------------------------

PRODUCT_COLUMNS = [
    Column(
        "manufacturer_code",
        ("生产企业统一社会信用代码", "manufacturer credit code", "manufacturer code"),
        kind=ColumnKind.CODE,
    ),
    Column("item_code", ("品种编码", "item code"), kind=ColumnKind.CODE),
    Column("specification_code", ("规格编码", "specification code"), kind=ColumnKind.CODE),
    Column("name", ("产品名称", "product name")),
    Column("name_en", ("英文名称", "English name"), required=False, allow_blank=True),
    Column("approval_number", ("批准文号", "approval number"), required=False, allow_blank=True),
    Column(
        "registration_number",
        ("注册证编号", "registration number"),
        required=False,
        allow_blank=True,
    ),
    Column("model_number", ("型号", "model"), required=False, allow_blank=True),
    Column("dosage_form", ("剂型", "dosage form"), required=False, allow_blank=True),
    Column("is_originator", ("原研药", "originator"), kind=ColumnKind.BOOL, required=False),
    Column(
        "is_consistency_evaluated",
        ("通过一致性评价", "consistency evaluated"),
        kind=ColumnKind.BOOL,
        required=False,
    ),
]

_PRODUCT_FIELDS = (
    "name",
    "name_en",
    "dosage_form",
    "is_originator",
    "is_consistency_evaluated",
    "model_number",
)


def product_import(*, data: bytes, filename: str, max_bytes: int, commit: bool) -> ImportOutcome:
    """Import products keyed by approval number (drugs) or registration number + model.

    Concurrency: each row goes through ``product_register``, which locks an existing
    product row (``select_for_update``) before changing it; the unique constraints on the
    natural keys stop two concurrent imports from creating the same product twice.
    """
    sheet = run_reader(
        data=data,
        filename=filename,
        columns=PRODUCT_COLUMNS,
        max_bytes=max_bytes,
        unique_by=(),
        max_rows=MAX_ROWS_IN_REQUEST,
    )
    if isinstance(sheet, str):
        return ImportOutcome.refused(sheet)
    known = _ProductLookups.of(sheet.frame)
    outcome, resolved = outcome_of(
        sheet,
        lambda record: _product_row(record, label=sheet.column_label, known=known),
        describe=lambda r: (
            f"{r['specification'].item.code} {r['specification'].label} · {r['name']} · "
            f"{r['approval_number'] or r['registration_number']}"
        ),
    )
    if commit:
        outcome_commit(outcome, resolved, write=lambda r: product_register(**row_arguments(r)))
    return outcome


@dataclass
class _ProductLookups:
    """What a product sheet names, read in a few queries; ``seen`` maps a natural key to
    the first row that used it."""

    manufacturers: dict[str, Organization]
    items: dict[str, ProcurementItem]
    specifications: dict[tuple[str, str], Specification]
    by_approval: dict[str, Product]
    by_registration: dict[tuple[str, str], Product]
    seen: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, frame: pd.DataFrame) -> _ProductLookups:
        items = {
            i.code: i for i in ProcurementItem.objects.filter(code__in=list(frame["item_code"]))
        }
        specifications = Specification.objects.filter(item__in=list(items.values()))
        approval = frame["approval_number"]
        registration = frame["registration_number"]
        return cls(
            manufacturers={
                o.social_credit_code: o
                for o in Organization.objects.filter(
                    social_credit_code__in=list(frame["manufacturer_code"].unique())
                )
            },
            items=items,
            specifications={
                (s.item.code, s.code): s for s in specifications.select_related("item")
            },
            by_approval={
                p.approval_number: p
                for p in Product.objects.filter(approval_number__in=list(approval))
                .exclude(approval_number="")
                .select_related("specification")
            },
            by_registration={
                (p.registration_number, p.model_number): p
                for p in Product.objects.filter(registration_number__in=list(registration))
                .exclude(registration_number="")
                .select_related("specification")
            },
        )


def _product_row(
    record: dict[str, Any], *, label: Callable[[str], str], known: _ProductLookups
) -> tuple[dict[str, Any], list[RowError]]:
    """One row resolved (its action and ``product_register``'s arguments), or its errors."""
    row = int(record[ROW])
    errors: list[RowError] = []
    manufacturer = known.manufacturers.get(record["manufacturer_code"])
    if manufacturer is None or manufacturer.kind != Organization.Kind.MANUFACTURER:
        errors.append(
            RowError(
                row,
                label("manufacturer_code"),
                _("“%(value)s” is not a manufacturer on the platform.")
                % {"value": record["manufacturer_code"]},
            )
        )
    item = known.items.get(record["item_code"])
    specification = known.specifications.get((record["item_code"], record["specification_code"]))
    if item is None:
        errors.append(
            RowError(
                row,
                label("item_code"),
                _("unknown item code “%(value)s”.") % {"value": record["item_code"]},
            )
        )
    elif specification is None:
        errors.append(
            RowError(
                row,
                label("specification_code"),
                _("“%(spec)s” is not a specification of item %(item)s.")
                % {"spec": record["specification_code"], "item": item.code},
            )
        )
    existing = _product_existing(record, item=item, label=label, known=known, errors=errors)
    if (
        existing is not None
        and manufacturer is not None
        and existing.manufacturer_id != manufacturer.pk
    ):
        errors.append(
            RowError(
                row, "", _("this approval or registration number belongs to another manufacturer.")
            )
        )
    if errors:
        return {}, errors
    assert item is not None and specification is not None and manufacturer is not None
    values = {
        "name": record["name"],
        "name_en": record.get("name_en") or "",
        "dosage_form": record.get("dosage_form") or "",
        "is_originator": bool(record.get("is_originator")),
        "is_consistency_evaluated": bool(record.get("is_consistency_evaluated")),
        "model_number": record.get("model_number") or "",
    }
    differs = existing is not None and (
        existing.specification_id != specification.pk
        or any(getattr(existing, k) != values[k] for k in _PRODUCT_FIELDS)
    )
    action = action_for(existing, differs=differs)
    return {
        ROW: row,
        "action": action,
        "manufacturer": manufacturer,
        "specification": specification,
        "approval_number": record.get("approval_number") or "",
        "registration_number": record.get("registration_number") or "",
        **values,
    }, []


def _product_existing(
    record: dict[str, Any],
    *,
    item: ProcurementItem | None,
    label: Callable[[str], str],
    known: _ProductLookups,
    errors: list[RowError],
) -> Product | None:
    """The product a row's natural key names (approval number, or registration number and
    model), adding to ``errors`` a missing key and a key repeated from an earlier row."""
    if item is None:
        return None
    row = int(record[ROW])
    if item.kind == ProductKind.DRUG:
        key = str(record.get("approval_number") or "")
        if not key:
            errors.append(
                RowError(row, label("approval_number"), _("a drug needs its approval number."))
            )
        existing = known.by_approval.get(key)
    else:
        reg = str(record.get("registration_number") or "")
        model = str(record.get("model_number") or "")
        key = f"{reg}\x1f{model}"
        if not reg:
            errors.append(
                RowError(
                    row,
                    label("registration_number"),
                    _("a consumable needs its registration certificate number."),
                )
            )
        existing = known.by_registration.get((reg, model))
    if key and key in known.seen:
        errors.append(
            RowError(
                row,
                "",
                _("duplicate of row %(first)s (same approval or registration number).")
                % {"first": known.seen[key]},
            )
        )
    elif key:
        known.seen[key] = row
    return existing

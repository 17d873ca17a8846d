"""State changes for the catalog: items, specifications, products."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Organization
from catalog.models import ProcurementItem, Product, ProductKind, Specification


@transaction.atomic
def item_upsert(*, code: str, **fields: Any) -> tuple[ProcurementItem, bool]:
    """Create or update a procurement item keyed by its code."""
    item, created = ProcurementItem.objects.get_or_create(code=code, defaults=fields)
    if not created:
        changed = [name for name, value in fields.items() if getattr(item, name) != value]
        for name in changed:
            setattr(item, name, fields[name])
        if changed:
            item.full_clean()
            item.save(update_fields=changed)
    else:
        item.full_clean()
    return item, created


@transaction.atomic
def specification_upsert(
    *,
    item: ProcurementItem,
    code: str,
    label: str,
    label_en: str = "",
    strength_value: Decimal | None = None,
    strength_unit: str = "",
    fill_volume_ml: Decimal | None = None,
    pack_count: int = 1,
    dosage_form: str = "",
    is_representative: bool = False,
) -> tuple[Specification, bool]:
    if not label_en:
        # The English name rendered from the structured fields (catalog.spec_names).
        label_en = Specification(
            item=item,
            strength_value=strength_value,
            strength_unit=strength_unit,
            fill_volume_ml=fill_volume_ml,
            pack_count=pack_count,
        ).english_label()
    values = {
        "label": label,
        "label_en": label_en,
        "strength_value": strength_value,
        "strength_unit": strength_unit,
        "fill_volume_ml": fill_volume_ml,
        "pack_count": pack_count,
        "dosage_form": dosage_form,
        "is_representative": is_representative,
    }
    if is_representative:
        # One representative per item (a partial unique constraint enforces it too).
        item.specifications.exclude(code=code).filter(is_representative=True).update(
            is_representative=False
        )
    specification, created = Specification.objects.update_or_create(
        item=item, code=code, defaults=values
    )
    return specification, created


@transaction.atomic
def product_register(
    *,
    manufacturer: Organization,
    specification: Specification,
    name: str,
    name_en: str = "",
    approval_number: str = "",
    dosage_form: str = "",
    is_originator: bool = False,
    is_consistency_evaluated: bool = False,
    registration_number: str = "",
    model_number: str = "",
    attributes: dict[str, Any] | None = None,
) -> tuple[Product, bool]:
    """Register (or update) a manufacturer's product under an item's specification.

    Natural key: the approval number for drugs, registration number + model for
    consumables. A product registered by another manufacturer cannot be taken over.
    """
    if manufacturer.kind != Organization.Kind.MANUFACTURER:
        raise ValidationError(_("Only a manufacturer can register products."))
    item = specification.item
    fields: dict[str, Any] = {
        "kind": item.kind,
        "item": item,
        "specification": specification,
        "name": name,
        "name_en": name_en,
        "generic_name": item.generic_name,
        "dosage_form": dosage_form,
        "is_originator": is_originator,
        "is_consistency_evaluated": is_consistency_evaluated,
        "attributes": attributes or {},
    }
    if item.kind == ProductKind.DRUG:
        if not approval_number.strip():
            raise ValidationError(_("A drug needs its approval number (国药准字)."))
        key = {"approval_number": approval_number.strip()}
    else:
        if not registration_number.strip():
            raise ValidationError(_("A consumable needs its registration certificate number."))
        key = {
            "registration_number": registration_number.strip(),
            "model_number": model_number.strip(),
        }
    existing = Product.objects.select_for_update().filter(**key).first()
    if existing is not None and existing.manufacturer_id != manufacturer.pk:
        raise ValidationError(
            _("This approval or registration number belongs to another manufacturer's product.")
        )
    if existing is None:
        product = Product(manufacturer=manufacturer, **key, **fields)
        product.full_clean()
        product.save()
        return product, True
    for name_, value in fields.items():
        setattr(existing, name_, value)
    existing.full_clean()
    existing.save()
    return existing, False

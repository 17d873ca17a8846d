"""Products (drugs and consumables), procurement items and their specifications."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, User
from catalog import comparable_price, spec_names
from common.i18n import Names, in_english, localized
from common.models import StoredUploadBase


class ProductKind(models.TextChoices):
    DRUG = "drug", _("Drug")
    CONSUMABLE = "consumable", _("Medical consumable")


class FormGroup(models.TextChoices):
    """Dosage-form groups a drug procurement item is defined on."""

    ORAL_SOLID = "oral_solid", _("Oral solid")
    ORAL_LIQUID = "oral_liquid", _("Oral liquid")
    INJECTION = "injection", _("Injection")
    INHALATION = "inhalation", _("Inhalation")
    TOPICAL = "topical", _("Topical")


class BiddingUnit(models.TextChoices):
    """Consumable bidding units (national stent, joint and intraocular lens rounds)."""

    CORONARY_STENT = "coronary_stent", _("Coronary drug-eluting stent")
    HIP_CERAMIC_CERAMIC = "hip_ceramic_ceramic", _("Hip: ceramic-on-ceramic")
    HIP_CERAMIC_PE = "hip_ceramic_pe", _("Hip: ceramic-on-polyethylene")
    HIP_ALLOY_PE = "hip_alloy_pe", _("Hip: alloy-on-polyethylene")
    KNEE = "knee", _("Total knee")
    IOL_MONOFOCAL_HYDROPHOBIC = "iol_monofocal_hydrophobic", _("IOL: monofocal, hydrophobic")
    IOL_MONOFOCAL_HYDROPHILIC = "iol_monofocal_hydrophilic", _("IOL: monofocal, hydrophilic")
    IOL_MONOFOCAL_PRELOADED = "iol_monofocal_preloaded", _("IOL: monofocal, preloaded")
    IOL_ASPHERIC = "iol_aspheric", _("IOL: aspheric")
    IOL_TORIC = "iol_toric", _("IOL: toric")
    IOL_MULTIFOCAL = "iol_multifocal", _("IOL: multifocal")
    IOL_EXTENDED_DEPTH = "iol_extended_depth", _("IOL: extended depth of focus")
    IOL_TORIC_MULTIFOCAL = "iol_toric_multifocal", _("IOL: toric multifocal")
    IOL_PHAKIC = "iol_phakic", _("IOL: phakic")
    IOL_PEDIATRIC = "iol_pediatric", _("IOL: paediatric")
    IOL_OTHER = "iol_other", _("IOL: other")


class ProcurementItem(models.Model):
    """What a round buys: a generic name plus dosage-form group, or a bidding unit.

    Prices are per ``unit_of_count`` (tablet, vial, set...) of the representative
    specification; other specifications are compared through the unit comparable price.
    """

    code = models.CharField(_("item code"), max_length=32, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=ProductKind.choices)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    generic_name = models.CharField(_("generic name"), max_length=120, blank=True)
    form_group = models.CharField(
        _("dosage-form group"), max_length=16, choices=FormGroup.choices, blank=True
    )
    bidding_unit = models.CharField(
        _("bidding unit"), max_length=32, choices=BiddingUnit.choices, blank=True
    )
    unit_of_count = models.CharField(
        _("unit of count"),
        max_length=16,
        help_text=_("Smallest unit prices refer to, e.g. tablet, vial, set."),
    )
    unit_of_count_en = models.CharField(_("unit of count (English)"), max_length=16, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("procurement item")
        verbose_name_plural = _("procurement items")
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="drug") & ~Q(generic_name="") & ~Q(form_group=""))
                | (Q(kind="consumable") & ~Q(bidding_unit="")),
                name="item_drug_has_generic_and_form_consumable_has_unit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.display_name}"

    @property
    def display_name(self) -> str:
        return localized(self.name, self.name_en)

    @property
    def english_name(self) -> str:
        """The English name, or for a consumable without one its bidding unit's."""
        if self.name_en:
            return self.name_en
        if self.bidding_unit:
            with translation.override("en"):
                return str(self.get_bidding_unit_display())
        return ""

    @property
    def names(self) -> Names:
        """The registered Chinese name and the English one (``common.i18n.display_name``)."""
        return Names(self.name, self.english_name)

    @property
    def english_unit(self) -> str:
        return self.unit_of_count_en or spec_names.english_unit(self.unit_of_count)

    @property
    def display_unit(self) -> str:
        return localized(self.unit_of_count, self.english_unit)

    @property
    def representative_specification(self) -> Specification | None:
        return self.specifications.filter(is_representative=True).first()


class Specification(models.Model):
    """A biddable specification of an item (strength, fill volume, pack count).

    For consumables there is one specification per item (the bidding unit itself).
    """

    item = models.ForeignKey(
        ProcurementItem,
        on_delete=models.CASCADE,
        related_name="specifications",
        verbose_name=_("item"),
    )
    code = models.CharField(_("specification code"), max_length=40)
    label = models.CharField(_("specification"), max_length=80)
    label_en = models.CharField(
        _("specification (English)"),
        max_length=120,
        blank=True,
        help_text=_("Rendered from strength, fill volume and pack count when left blank."),
    )
    dosage_form = models.CharField(_("dosage form"), max_length=40, blank=True)
    strength_value = models.DecimalField(
        _("strength"),
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.0001"))],
    )
    strength_unit = models.CharField(_("strength unit"), max_length=16, blank=True)
    fill_volume_ml = models.DecimalField(
        _("fill volume (ml)"),
        max_digits=10,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.001"))],
    )
    pack_count = models.PositiveIntegerField(_("units per pack"), default=1)
    is_representative = models.BooleanField(_("representative specification"), default=False)

    class Meta:
        ordering = ["item", "-is_representative", "code"]
        verbose_name = _("specification")
        verbose_name_plural = _("specifications")
        constraints = [
            models.UniqueConstraint(
                fields=["item", "code"], name="specification_code_unique_per_item"
            ),
            models.UniqueConstraint(
                fields=["item"],
                condition=Q(is_representative=True),
                name="one_representative_per_item",
            ),
            models.CheckConstraint(
                condition=Q(pack_count__gte=1), name="specification_pack_count_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.display_label

    @property
    def display_label(self) -> str:
        return str(self.names)

    @property
    def names(self) -> Names:
        """The registered Chinese label and the English one (``common.i18n.display_name``):
        the stored English label, or when blank the one rendered from the fields."""
        english = self.label_en or (self.english_label() if in_english() else "")
        return Names(self.label, english)

    def english_label(self) -> str:
        """The English label rendered from the structured fields: a consumable's without
        strength is its item's English name (the bidding unit); a drug's without strength
        has none (blank: the registered label is shown)."""
        return spec_names.english_label(
            strength_value=self.strength_value,
            strength_unit=self.strength_unit,
            fill_volume_ml=self.fill_volume_ml,
            pack_count=self.pack_count,
            unit=self.item.english_unit,
            fallback=self.item.english_name if self.item.kind == ProductKind.CONSUMABLE else "",
        )

    def as_comparable(self) -> comparable_price.Specification:
        """This specification in the pure unit-comparable-price module's terms."""
        return comparable_price.Specification(
            strength=self.strength_value,
            fill_volume=self.fill_volume_ml,
            pack_count=self.pack_count,
            dosage_form=self.dosage_form or None,
            oral_solid=self.item.form_group == FormGroup.ORAL_SOLID,
        )


class Product(models.Model):
    """A marketed product: a drug (approval number) or a consumable (registration)."""

    kind = models.CharField(_("kind"), max_length=16, choices=ProductKind.choices)
    manufacturer = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="products",
        limit_choices_to={"kind": Organization.Kind.MANUFACTURER},
        verbose_name=_("manufacturer"),
    )
    item = models.ForeignKey(
        ProcurementItem,
        on_delete=models.PROTECT,
        related_name="products",
        verbose_name=_("procurement item"),
    )
    specification = models.ForeignKey(
        Specification,
        on_delete=models.PROTECT,
        related_name="products",
        verbose_name=_("specification"),
    )
    name = models.CharField(_("product name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    # Drugs
    generic_name = models.CharField(_("generic name"), max_length=120, blank=True)
    dosage_form = models.CharField(_("dosage form"), max_length=40, blank=True)
    approval_number = models.CharField(
        _("approval number"), max_length=40, blank=True, help_text=_("e.g. 国药准字H20051234")
    )
    is_originator = models.BooleanField(_("originator / reference product"), default=False)
    is_consistency_evaluated = models.BooleanField(
        _("passed consistency evaluation"), default=False
    )
    # Consumables
    registration_number = models.CharField(
        _("registration certificate number"), max_length=60, blank=True
    )
    model_number = models.CharField(_("model / specification"), max_length=120, blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["item", "manufacturer", "name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.UniqueConstraint(
                fields=["approval_number"],
                condition=~Q(approval_number=""),
                name="product_approval_number_unique",
            ),
            models.UniqueConstraint(
                fields=["registration_number", "model_number"],
                condition=~Q(registration_number=""),
                name="product_registration_model_unique",
            ),
            models.CheckConstraint(
                condition=(Q(kind="drug") & ~Q(approval_number="") & ~Q(generic_name=""))
                | (Q(kind="consumable") & ~Q(registration_number="")),
                name="product_drug_has_approval_consumable_has_registration",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return localized(self.name, self.name_en)

    @property
    def is_eligible(self) -> bool:
        """Drugs must be originators or consistency-evaluated generics to bid."""
        if self.kind == ProductKind.DRUG:
            return self.is_originator or self.is_consistency_evaluated
        return True


class StoredUpload(StoredUploadBase):
    """An uploaded spreadsheet kept between its preview and its commit (``common.uploads``).

    Scoped, beyond the kernel's user, purpose and scope, to the organization the user acts
    for: a token stops working for a user who moved to another organization.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["created_at"])]

    @classmethod
    def owner(cls, user: AbstractBaseUser) -> dict[str, Any]:
        return {"user": user, "organization": cast(User, user).organization}

    def reply_language(self) -> str:
        """The language the uploader chose (messages of a background check are in it)."""
        return str(self.user.language or settings.LANGUAGE_CODE)

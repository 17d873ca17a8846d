"""Rounds (batches), their rule sets, items and ceilings, and hospitals' demand."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, Region
from catalog.models import ProcurementItem, Product, ProductKind, Specification
from common.i18n import localized
from procurement.rule_labels import rule_kind_choices, rule_set_title


class RuleSet(models.Model):
    """A named rule kind plus its parameters, versioned.

    ``parameters`` is exactly the optimiser's rule-set parameter document
    (``procurement.optimiser.presets.validate_rule_set`` checks it); ``periods`` holds the
    procedure's statutory minimum periods (``procurement.periods``). Once a round using a
    version opens bidding the version is frozen; later edits create a new version
    (``procurement.services.rule_set_revise``) and never change a round already bidding.
    """

    name = models.CharField(_("name"), max_length=80)
    version = models.PositiveIntegerField(_("version"), default=1)
    kind = models.CharField(_("rule kind"), max_length=32, choices=rule_kind_choices)
    parameters = models.JSONField(_("parameters"))
    # The procedure's minimum periods in days (``procurement.periods``); a period not named
    # here takes its rule kind's default.
    periods = models.JSONField(_("minimum periods (days)"), default=dict, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    source = models.CharField(_("source"), max_length=300, blank=True)
    frozen_at = models.DateTimeField(_("frozen at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        verbose_name = _("rule set")
        verbose_name_plural = _("rule sets")
        constraints = [
            models.UniqueConstraint(
                fields=["name", "version"], name="rule_set_name_version_unique"
            ),
        ]

    def __str__(self) -> str:
        # A ready-made rule set by its title in the reader's language (selects, lists).
        return f"{rule_set_title(self.name)} v{self.version}"

    @property
    def is_frozen(self) -> bool:
        return self.frozen_at is not None


class Round(models.Model):
    """A procurement round (batch): items, demand, bids, award, contracts."""

    class Kind(models.TextChoices):
        DRUGS = "drugs", _("Drugs")
        CONSUMABLES = "consumables", _("Medical consumables")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        DEMAND_OPEN = "demand_open", _("Demand declaration open")
        DEMAND_CLOSED = "demand_closed", _("Demand declaration closed")
        BIDDING_OPEN = "bidding_open", _("Bidding open")
        BIDDING_CLOSED = "bidding_closed", _("Bidding closed")
        BIDS_OPENED = "bids_opened", _("Bids opened")
        EVALUATED = "evaluated", _("Evaluated (proposed winners)")
        OBJECTION = "objection", _("Objection period")
        AWARDED = "awarded", _("Awarded (results published)")
        CONTRACTED = "contracted", _("Contracts signed")
        IN_EXECUTION = "in_execution", _("In execution")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")

    code = models.CharField(_("round code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    office = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="rounds",
        limit_choices_to={"kind": Organization.Kind.OFFICE},
        verbose_name=_("procurement office"),
    )
    regions = models.ManyToManyField(Region, related_name="rounds", verbose_name=_("region scope"))
    rule_set = models.ForeignKey(
        RuleSet, on_delete=models.PROTECT, related_name="rounds", verbose_name=_("rule set")
    )
    demand_opens_at = models.DateTimeField(_("demand declaration opens"))
    demand_closes_at = models.DateTimeField(_("demand declaration closes"))
    bid_deadline = models.DateTimeField(_("bid deadline"))
    opening_at = models.DateTimeField(_("bid opening"))
    objection_ends_at = models.DateTimeField(_("objection period ends"))
    contract_starts_on = models.DateField(_("contract start"))
    cancelled_reason = models.CharField(_("cancellation reason"), max_length=300, blank=True)
    # Whether bids and contract confirmations must be signed (docs/signatures.md); empty
    # follows the setting JICAI_SIGNATURES_REQUIRED. On the round row, which every bid
    # transaction reads anyway, so the check costs no query.
    signatures_required = models.BooleanField(
        _("signatures required"), null=True, blank=True, default=None
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("round")
        verbose_name_plural = _("rounds")
        constraints = [
            models.CheckConstraint(
                condition=Q(demand_opens_at__lt=models.F("demand_closes_at"))
                & Q(demand_closes_at__lte=models.F("bid_deadline"))
                & Q(bid_deadline__lte=models.F("opening_at"))
                & Q(opening_at__lt=models.F("objection_ends_at")),
                name="round_timetable_in_order",
                violation_error_message=_(
                    "The timetable must run in order: demand opens, demand closes, bid deadline, "
                    "opening, end of the objection period."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.display_name}"

    @property
    def display_name(self) -> str:
        return localized(self.name, self.name_en)

    @property
    def product_kind(self) -> str:
        return ProductKind.DRUG if self.kind == self.Kind.DRUGS else ProductKind.CONSUMABLE


class RoundTransition(models.Model):
    """Append-only log of a round's state changes (who, when, why)."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=Round.Status.choices)
    to_status = models.CharField(max_length=16, choices=Round.Status.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.round_id}: {self.from_status} -> {self.to_status}"


class RoundItem(models.Model):
    """A procurement item in a round, with its pre-procurement reference price."""

    round = models.ForeignKey(
        Round, on_delete=models.CASCADE, related_name="items", verbose_name=_("round")
    )
    item = models.ForeignKey(
        ProcurementItem,
        on_delete=models.PROTECT,
        related_name="round_items",
        verbose_name=_("procurement item"),
    )
    reference_price = models.DecimalField(
        _("pre-procurement reference price"),
        max_digits=14,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Yuan per unit of count of the representative specification."),
    )
    # Consumables: the bidding unit's own rule set (stents, joints and lenses of one round
    # are awarded under their own rules); empty: the round's. Set before bidding opens,
    # frozen with the round's (``procurement.services.round_item_set_rule_set``).
    rule_set = models.ForeignKey(
        RuleSet,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("rule set of the bidding unit"),
    )

    class Meta:
        ordering = ["round", "item__code"]
        verbose_name = _("round item")
        verbose_name_plural = _("round items")
        constraints = [
            models.UniqueConstraint(fields=["round", "item"], name="round_item_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.round.code} / {self.item.code}"

    @property
    def effective_rule_set_id(self) -> int:
        """The rule set this item is awarded under: its own, or the round's."""
        return self.rule_set_id or self.round.rule_set_id


class Ceiling(models.Model):
    """The maximum valid bid price (最高有效申报价) of one specification in a round."""

    round_item = models.ForeignKey(RoundItem, on_delete=models.CASCADE, related_name="ceilings")
    specification = models.ForeignKey(
        Specification, on_delete=models.PROTECT, related_name="ceilings"
    )
    max_valid_bid_price = models.DecimalField(
        _("maximum valid bid price"),
        max_digits=14,
        decimal_places=4,
        validators=[MinValueValidator(0)],
        help_text=_("Yuan per unit of count, up to 4 decimal places."),
    )

    class Meta:
        ordering = ["round_item", "specification__code"]
        verbose_name = _("ceiling")
        verbose_name_plural = _("ceilings")
        constraints = [
            models.UniqueConstraint(
                fields=["round_item", "specification"], name="ceiling_unique_per_spec"
            ),
            models.CheckConstraint(condition=Q(max_valid_bid_price__gt=0), name="ceiling_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.round_item} {self.specification.code}: {self.max_valid_bid_price}"


class DemandDeclaration(models.Model):
    """A hospital's declared annual quantity (smallest units) for one round item.

    Drugs: per specification. Consumables: per product (brand), as intended volume.
    The latest value is kept here; every change is kept in ``DemandChange``.

    A national round holds about a million of these, written by one import. Their foreign
    keys are therefore not database constraints (``db_constraint=False``): PostgreSQL checks
    a constraint row by row at commit, about 7 microseconds a key on the reference machine,
    which made a million-line import four times slower than all the rest of it together.
    Integrity is kept by the only writer, ``procurement.services.demand_apply``, which
    resolves every id from the database inside its transaction while holding the round's
    lock, and by ``on_delete`` (PROTECT / CASCADE, enforced by Django) for deletions.
    For the same reason the table has one index besides its key: the unique line index.
    """

    round_item = models.ForeignKey(
        RoundItem,
        on_delete=models.CASCADE,
        related_name="declarations",
        db_constraint=False,
        db_index=False,  # covered by the unique line index (round_item first)
    )
    hospital = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="declarations",
        limit_choices_to={"kind": Organization.Kind.HOSPITAL},
        db_constraint=False,
        db_index=False,
    )
    specification = models.ForeignKey(
        Specification,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="declarations",
        db_constraint=False,
        db_index=False,
    )
    product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="declarations",
        db_constraint=False,
        db_index=False,
    )
    quantity = models.PositiveBigIntegerField(_("annual quantity"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["round_item", "hospital"]
        verbose_name = _("demand declaration")
        verbose_name_plural = _("demand declarations")
        constraints = [
            models.CheckConstraint(
                condition=(Q(specification__isnull=False) & Q(product__isnull=True))
                | (Q(specification__isnull=True) & Q(product__isnull=False)),
                name="declaration_is_per_specification_or_per_product",
            ),
            # One line per round item, hospital and specification (drugs) or product
            # (consumables). One index serves the constraint and every lookup (a round's
            # lines by round item; a hospital's lines in a round by round item + hospital).
            models.UniqueConstraint(
                "round_item",
                "hospital",
                Coalesce("specification", Value(0)),
                Coalesce("product", Value(0)),
                name="declaration_unique_line",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="declaration_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hospital_id} {self.round_item_id}: {self.quantity}"


class DemandChange(models.Model):
    """History of demand: who changed what, when, through which channel.

    Append-only; written only by the demand services. Like ``DemandDeclaration`` its
    foreign keys are not database constraints and carry one composite index, so writing a
    million history rows costs about as much as copying them.
    """

    class Channel(models.TextChoices):
        WEB = "web", _("Web table")
        UPLOAD = "upload", _("Spreadsheet upload")
        API = "api", _("API")

    round_item = models.ForeignKey(
        RoundItem,
        on_delete=models.CASCADE,
        related_name="demand_changes",
        db_constraint=False,
        db_index=False,  # covered by the (round_item, hospital) index
    )
    hospital = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    specification = models.ForeignKey(
        Specification,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    old_quantity = models.PositiveBigIntegerField(null=True, blank=True)
    new_quantity = models.PositiveBigIntegerField(null=True, blank=True)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("demand change")
        verbose_name_plural = _("demand changes")
        indexes = [
            models.Index(fields=["round_item", "hospital"]),
            # The history page reads the newest first, a page at a time: walked in index
            # order instead of sorting a national round's ~900,000 rows per load.
            models.Index(fields=["-at", "-id"], name="demand_change_newest_first"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.hospital_id} {self.round_item_id}: {self.old_quantity} -> {self.new_quantity}"
        )


class DemandTotalsSnapshot(models.Model):
    """A round's declared demand totalled once per change (``procurement.summaries``):
    the quantity and number of hospitals per line and province, and the number of
    hospitals and lines declared. The totals page read them with aggregates over every
    declaration on each load (~920,000 nationally)."""

    round = models.OneToOneField(Round, on_delete=models.CASCADE, related_name="+")
    records = models.JSONField(default=list)
    hospitals_declared = models.PositiveIntegerField(default=0)
    lines = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(_("computed at"), null=True)
    changed_at = models.DateTimeField(null=True)  # set by the writers
    requested_at = models.DateTimeField(null=True)  # a refresh was queued then

    class Meta:
        verbose_name = _("demand totals snapshot")
        verbose_name_plural = _("demand totals snapshots")

    def __str__(self) -> str:
        return f"demand totals of round {self.round_id} ({self.computed_at})"

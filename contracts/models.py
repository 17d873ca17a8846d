"""Contracts between hospitals and winners, their amendments, purchases and supply failures.

A contract is drawn up from the official award (``awards``): one per hospital and winner,
a line per item. Purchases are recorded against its lines; a supply failure switches a
province to a backup winner by amending the contracts concerned.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, Region, SigningKey
from awards.models import EvaluationRun
from bidding.models import OpenedBid
from catalog.models import Specification
from procurement.models import Round, RoundItem


class Contract(models.Model):
    """A purchase contract between a hospital and a winner, with a line per item.

    Confirmed by the hospital first, then the manufacturer. Once both have confirmed, its
    lines change only through an amendment: every version's lines are kept
    (``ContractLine.version``; version 0 is the original as confirmed).
    """

    class Status(models.TextChoices):
        AWAITING_HOSPITAL = "awaiting_hospital", _("Awaiting the hospital's confirmation")
        AWAITING_MANUFACTURER = (
            "awaiting_manufacturer",
            _("Awaiting the manufacturer's confirmation"),
        )
        CONFIRMED = "confirmed", _("Confirmed by both parties")

    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="contracts")
    run = models.ForeignKey(EvaluationRun, on_delete=models.PROTECT, related_name="contracts")
    number = models.CharField(_("contract number"), max_length=40, unique=True)
    hospital = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="hospital_contracts"
    )
    manufacturer = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="manufacturer_contracts"
    )
    status = models.CharField(
        _("status"), max_length=24, choices=Status.choices, default=Status.AWAITING_HOSPITAL
    )
    starts_on = models.DateField(_("start date"))
    current_version = models.PositiveIntegerField(_("version"), default=0)
    total = models.DecimalField(_("total (yuan)"), max_digits=20, decimal_places=2)
    hospital_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    hospital_confirmed_at = models.DateTimeField(null=True, blank=True)
    manufacturer_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    manufacturer_confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Bumped on every change the PDF shows (confirmation, amendment); the PDF task renders
    # when the stored PDF is of an older revision.
    revision = models.PositiveIntegerField(default=1)
    pdf_revision = models.PositiveIntegerField(default=0)
    pdf_zh = models.FileField(upload_to="contracts/%Y/", blank=True, default="")
    pdf_en = models.FileField(upload_to="contracts/%Y/", blank=True, default="")
    pdf_zh_sha256 = models.CharField(max_length=64, blank=True, default="")
    pdf_en_sha256 = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["round", "number"]
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        constraints = [
            models.UniqueConstraint(
                fields=["round", "hospital", "manufacturer"], name="contract_one_per_pair"
            ),
            models.CheckConstraint(
                condition=Q(status="awaiting_hospital")
                | Q(hospital_confirmed_at__isnull=False, hospital_confirmed_by__isnull=False),
                name="contract_hospital_confirms_first",
            ),
            models.CheckConstraint(
                condition=~Q(status="confirmed")
                | Q(
                    manufacturer_confirmed_at__isnull=False,
                    manufacturer_confirmed_by__isnull=False,
                ),
                name="contract_confirmed_by_both",
            ),
        ]
        indexes = [
            models.Index(fields=["hospital", "round"]),
            models.Index(fields=["manufacturer", "round"]),
            # The contracts list's order (newest round first, then by number), read a page
            # at a time from the index instead of sorting ~900,000 contracts via the round.
            models.Index(fields=["-round", "number"], name="contract_newest_round_number"),
            # "Has this round a (confirmed) contract?": one index probe per round for the
            # round filters of the contracts and progress pages (selectors.rounds_with).
            models.Index(fields=["round", "status"], name="contract_round_status"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def pdf_ready(self) -> bool:
        return self.pdf_revision == self.revision and bool(self.pdf_zh) and bool(self.pdf_en)


class ContractLine(models.Model):
    """One item of a contract in one version: agreed volume, unit price, term, start."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="lines")
    version = models.PositiveIntegerField(default=0)
    round_item = models.ForeignKey(RoundItem, on_delete=models.PROTECT, related_name="+")
    opened_bid = models.ForeignKey(OpenedBid, on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveBigIntegerField(_("agreed volume"))
    unit_price = models.DecimalField(_("unit price"), max_digits=24, decimal_places=6)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=20, decimal_places=2)
    term_years = models.PositiveSmallIntegerField(_("term (years)"))
    starts_on = models.DateField(_("start date"))
    ends_on = models.DateField(_("end date"))

    class Meta:
        ordering = ["contract", "version", "round_item__item__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "version", "round_item"], name="contract_line_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} v{self.version} {self.round_item_id}"


class ContractSignature(models.Model):
    """One party's signature of its contract confirmation (contracts.signatures,
    docs/signatures.md): the canonical content signed (the contract's number, parties,
    version, total and lines), the key and the signature; verified when confirming, again
    for the PDF and by ``manage.py verify_contract_signatures``."""

    class Party(models.TextChoices):
        HOSPITAL = "hospital", _("Hospital")
        MANUFACTURER = "manufacturer", _("Manufacturer")

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="signatures")
    party = models.CharField(_("party"), max_length=12, choices=Party.choices)
    version = models.PositiveIntegerField(_("contract version signed"))
    content = models.BinaryField(_("signed content"))
    signature = models.BinaryField(_("signature"))
    signing_key = models.ForeignKey(
        SigningKey, on_delete=models.PROTECT, related_name="+", verbose_name=_("signing key")
    )
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("signed by"),
    )
    signed_at = models.DateTimeField(_("signed at"))

    class Meta:
        ordering = ["contract", "version", "party"]
        verbose_name = _("contract signature")
        verbose_name_plural = _("contract signatures")
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "version", "party"], name="contract_signature_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} v{self.version} {self.party}"


class ContractLineSpecification(models.Model):
    """What a contract line buys, by specification: the specification the winner bid at
    its bid price, or another specification of the item the hospital declared, at the
    price the round's comparable-price coefficients derive from the bid (the ratio rule,
    差比价), rounded once to 0.0001 yuan. The quantity is in that specification's smallest
    units (the hospital's declared mix of specifications applied to its agreed volume);
    the amounts add up to the line's amount (``contracts.specifications``)."""

    line = models.ForeignKey(ContractLine, on_delete=models.CASCADE, related_name="spec_lines")
    specification = models.ForeignKey(
        Specification, on_delete=models.PROTECT, related_name="+", verbose_name=_("specification")
    )
    is_bid = models.BooleanField(_("the specification bid"), default=False)
    quantity = models.PositiveBigIntegerField(_("agreed volume"))
    unit_price = models.DecimalField(_("unit price"), max_digits=24, decimal_places=6)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=20, decimal_places=2)

    class Meta:
        ordering = ["line", "-is_bid", "specification__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["line", "specification"], name="contract_line_specification_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line_id} {self.specification_id}: {self.quantity}"

    @property
    def boxes(self) -> tuple[int, int]:
        """Whole packs and the smallest units left over."""
        pack = self.specification.pack_count or 1
        return divmod(self.quantity, pack)


class ContractAmendment(models.Model):
    """A change to a confirmed contract; the lines before it stay as they were."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="amendments")
    version = models.PositiveIntegerField(_("version"))
    reason = models.TextField(_("reason"))
    effective_from = models.DateField(_("effective from"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["contract", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "version"], name="contract_amendment_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} amendment {self.version}"


class Purchase(models.Model):
    """What a hospital bought on a contract line in one month (smallest units).

    One figure per contract, item and month; recording the month again replaces it.
    Quantities beyond the agreed volume are allowed (and shown as such).
    """

    class Channel(models.TextChoices):
        WEB = "web", _("Web form")
        UPLOAD = "upload", _("Spreadsheet upload")
        API = "api", _("API")

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="purchases")
    round_item = models.ForeignKey(RoundItem, on_delete=models.PROTECT, related_name="+")
    month = models.DateField(_("month"), help_text="The first day of the month.")
    quantity = models.PositiveBigIntegerField(_("quantity bought"))
    channel = models.CharField(max_length=8, choices=Channel.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["contract", "round_item", "month"]
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "round_item", "month"], name="purchase_one_per_month"
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="purchase_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.round_item_id} {self.month:%Y-%m}: {self.quantity}"


class SupplyFailure(models.Model):
    """A winner's failure to supply an item in a province, and the switch to a backup."""

    class Status(models.TextChoices):
        REPORTED = "reported", _("Reported")
        SWITCHED = "switched", _("Switched to the backup supplier")

    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="supply_failures")
    round_item = models.ForeignKey(RoundItem, on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    manufacturer = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    description = models.TextField(_("what happened"))
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reported_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.REPORTED
    )
    backup_bid = models.ForeignKey(
        OpenedBid, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    switch_from = models.DateField(_("switched from"), null=True, blank=True)
    switched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    switched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-reported_at", "-id"]
        verbose_name = _("supply failure")
        verbose_name_plural = _("supply failures")
        constraints = [
            models.CheckConstraint(
                condition=Q(status="reported")
                | Q(backup_bid__isnull=False, switch_from__isnull=False),
                name="supply_failure_switch_names_backup_and_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.round_id} {self.round_item_id} {self.region_id}: {self.status}"


class ProgressSnapshot(models.Model):
    """A round's execution progress, totalled once (``contracts.summaries``) and read by
    every load of the progress pages instead of aggregating a million lines each time.

    Refreshed by a task when a writer marks it changed (purchases recorded, contracts
    confirmed or amended: ``changed_at``) or when the day moves on (the pro-rata schedule
    is by date: ``as_of``); until then the pages show it with the time it was computed.
    """

    round = models.OneToOneField(Round, on_delete=models.CASCADE, related_name="+")
    as_of = models.DateField(_("as of"), null=True)
    computed_at = models.DateTimeField(_("computed at"), null=True)
    changed_at = models.DateTimeField(null=True)  # set by the writers
    requested_at = models.DateTimeField(null=True)  # a refresh was queued then

    class Meta:
        verbose_name = _("progress snapshot")
        verbose_name_plural = _("progress snapshots")

    def __str__(self) -> str:
        return f"progress of round {self.round_id} as of {self.as_of}"


class ProgressFigures(models.Model):
    agreed = models.BigIntegerField(default=0)
    bought = models.BigIntegerField(default=0)
    expected = models.BigIntegerField(default=0)
    elapsed = models.IntegerField(default=0)

    class Meta:
        abstract = True


class ProgressCell(ProgressFigures):
    """A round's progress per item, province and winner (items x provinces x winners rows,
    about 9,000 nationally): the totals, by item, by province and by winner."""

    snapshot = models.ForeignKey(ProgressSnapshot, on_delete=models.CASCADE, related_name="cells")
    round_item = models.ForeignKey(
        RoundItem, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    region = models.ForeignKey(
        Region, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    manufacturer = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )

    def __str__(self) -> str:
        return f"{self.round_item_id} {self.region_id} {self.manufacturer_id}: {self.bought}"


class ProgressHospital(ProgressFigures):
    """A hospital's progress over its lines with one winner, or (``manufacturer`` empty)
    with every winner: the office's and a winner's tables by hospital, and the hospitals
    behind schedule."""

    snapshot = models.ForeignKey(
        ProgressSnapshot, on_delete=models.CASCADE, related_name="hospitals"
    )
    hospital = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    manufacturer = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", null=True, db_constraint=False
    )
    # The hospital's code, copied so a page of the table is read in order from an index.
    hospital_code = models.CharField(max_length=18)
    shortfall = models.BigIntegerField(default=0)
    behind = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(
                fields=["snapshot", "manufacturer", "hospital_code", "hospital"],
                name="progress_hospital_page",
            ),
            models.Index(
                fields=["snapshot", "manufacturer", "behind", "-shortfall"],
                name="progress_hospital_behind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hospital_code} {self.manufacturer_id}: {self.bought}"


class ContractPdfBatch(models.Model):
    """A batch of contract PDFs rendered as a Celery group of chunks, so that every worker
    process takes a share (``contracts.services.contract_pdfs_batch_request``).

    ``total`` contracts are in the batch; each chunk, when finished, adds its contracts to
    ``done`` (of which ``rendered`` were rendered by it; the others were current already or
    being rendered by another task) and its failures to ``failed``, exactly once: its key is
    kept in ``parts_finished``, so a redelivered chunk neither renders a current PDF again
    nor counts twice. The batch is over when ``done + failed == total`` (``finished_at``).
    """

    round = models.ForeignKey(
        Round, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    total = models.PositiveIntegerField(_("contracts in the batch"))
    chunks = models.PositiveIntegerField(_("chunks"))
    done = models.PositiveIntegerField(_("contracts with a current PDF"), default=0)
    rendered = models.PositiveIntegerField(_("PDFs rendered"), default=0)
    failed = models.PositiveIntegerField(_("contracts failed"), default=0)
    parts_finished = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("contract PDF batch")
        verbose_name_plural = _("contract PDF batches")

    def __str__(self) -> str:
        return f"{self.done + self.failed}/{self.total}"

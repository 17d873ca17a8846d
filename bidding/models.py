"""Sealed bids, their versions and receipts, round keys, the decryption audit, the opening.

Before a round's opening no column here holds a price or a capacity in plain text: they
live only inside ``BidVersion.ciphertext`` (HPKE to the round's public key, whose private
key exists only as the opening officials' k-of-n shares, ``RoundCustody``).
``OpenedBid`` holds the opened values, written by the opening itself.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, SigningKey
from catalog.models import Product, Specification
from common.models import AppendOnlyModel
from procurement.models import Round, RoundItem


class RoundKey(models.Model):
    """A round's data key, wrapped (AES key wrap) by the master key; never stored in clear.

    Rounds sealed before k-of-n opening keys only: new rounds use ``RoundCustody``."""

    round = models.OneToOneField(Round, on_delete=models.PROTECT, related_name="sealing_key")
    wrapped_key = models.BinaryField(_("wrapped data key"))
    master_key_fingerprint = models.CharField(_("master key fingerprint"), max_length=16)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    rewrapped_at = models.DateTimeField(_("re-wrapped at"), null=True, blank=True)

    class Meta:
        verbose_name = _("round sealing key")
        verbose_name_plural = _("round sealing keys")

    def __str__(self) -> str:
        return f"{self.round_id} ({self.master_key_fingerprint})"


class RoundCustody(models.Model):
    """A round's opening key (issue 13): its public key seals the bids; its private key
    exists only as k-of-n shares held by the round's opening officials (开标人)."""

    round = models.OneToOneField(Round, on_delete=models.PROTECT, related_name="custody")
    threshold = models.PositiveSmallIntegerField(_("shares needed to open (k)"))
    public_key = models.BinaryField(_("round public key (X25519)"), default=b"", blank=True)
    key_generated_at = models.DateTimeField(_("key generated at"), null=True, blank=True)
    designated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("designated by"),
    )
    designated_at = models.DateTimeField(_("designated at"), auto_now_add=True)

    class Meta:
        verbose_name = _("round opening key")
        verbose_name_plural = _("round opening keys")
        constraints = [
            models.CheckConstraint(condition=Q(threshold__gte=2), name="custody_threshold_ge_2"),
        ]

    def __str__(self) -> str:
        return f"{self.round_id} ({self.threshold} of n)"

    @property
    def has_key(self) -> bool:
        return self.key_generated_at is not None


class OpeningOfficial(models.Model):
    """One opening official of a round and what the database keeps for them: their custody
    public key, their custody private key sealed under their passphrase (scrypt) and then
    the master key, and their share of the round's private key sealed (HPKE) to that
    custody key. During a ceremony, a presented share is held sealed under the master key
    until the k-th official presents; it is erased when the bids are opened."""

    custody = models.ForeignKey(RoundCustody, on_delete=models.PROTECT, related_name="officials")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="opening_duties",
        verbose_name=_("official"),
    )
    share_index = models.PositiveSmallIntegerField(_("share number"))
    custody_public_key = models.BinaryField(default=b"", blank=True)
    custody_private_sealed = models.BinaryField(default=b"", blank=True)
    master_key_fingerprint = models.CharField(
        _("master key fingerprint"), max_length=16, blank=True
    )
    enrolled_at = models.DateTimeField(_("passphrase set at"), null=True, blank=True)
    sealed_share = models.BinaryField(default=b"", blank=True)
    presented_share = models.BinaryField(default=b"", blank=True)
    presented_at = models.DateTimeField(_("presented at"), null=True, blank=True)

    class Meta:
        ordering = ["custody", "share_index"]
        verbose_name = _("opening official")
        verbose_name_plural = _("opening officials")
        constraints = [
            models.UniqueConstraint(fields=["custody", "user"], name="official_once_per_round"),
            models.UniqueConstraint(
                fields=["custody", "share_index"], name="official_share_index_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"official {self.user_id} of custody {self.custody_id}"


class CeremonyEvent(AppendOnlyModel):
    """Append-only record of the opening key's life: designation, passphrases set, key
    generation, every presentation (refused ones too) and the opening."""

    class Kind(models.TextChoices):
        DESIGNATED = "designated", _("Opening officials designated")
        ENROLLED = "enrolled", _("Official set a passphrase and received a share")
        KEY_GENERATED = "key_generated", _("Round key generated, split and destroyed")
        PRESENTED = "presented", _("Official presented a share")
        REFUSED = "refused", _("Presentation refused: wrong passphrase")
        OPENED = "opened", _("Key rebuilt in memory, bids opened, key discarded")

    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="ceremony_events")
    at = models.DateTimeField(_("at"), auto_now_add=True)
    kind = models.CharField(_("event"), max_length=16, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("ceremony event")
        verbose_name_plural = _("ceremony log")

    def __str__(self) -> str:
        return f"{self.round_id} {self.kind}"


class Bid(models.Model):
    """One manufacturer's bid line in a round: per specification (drugs) or per product
    (consumables). Its versions are kept; the latest one counts."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Submitted")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    round = models.ForeignKey(
        Round, on_delete=models.PROTECT, related_name="bids", verbose_name=_("round")
    )
    round_item = models.ForeignKey(
        RoundItem, on_delete=models.PROTECT, related_name="bids", verbose_name=_("round item")
    )
    specification = models.ForeignKey(
        Specification,
        on_delete=models.PROTECT,
        related_name="bids",
        verbose_name=_("specification"),
    )
    manufacturer = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="bids",
        limit_choices_to={"kind": Organization.Kind.MANUFACTURER},
        verbose_name=_("manufacturer"),
    )
    # Consumables are bid per product (brand); drug bids are per specification and leave
    # this empty (their product is chosen per version).
    lineage_product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("bid product"),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE
    )
    current_version = models.PositiveIntegerField(_("current version"), default=1)
    created_at = models.DateTimeField(_("first submitted"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last changed"), auto_now=True)
    locked_at = models.DateTimeField(_("locked at the opening"), null=True, blank=True)

    class Meta:
        ordering = ["round", "round_item", "specification", "manufacturer"]
        verbose_name = _("bid")
        verbose_name_plural = _("bids")
        constraints = [
            models.UniqueConstraint(
                fields=["round_item", "specification", "manufacturer"],
                condition=Q(lineage_product__isnull=True),
                name="bid_unique_per_specification",
            ),
            models.UniqueConstraint(
                fields=["round_item", "manufacturer", "lineage_product"],
                condition=Q(lineage_product__isnull=False),
                name="bid_unique_per_product",
            ),
            models.CheckConstraint(
                condition=Q(current_version__gte=1), name="bid_version_positive"
            ),
        ]
        indexes = [models.Index(fields=["manufacturer", "round"])]

    def __str__(self) -> str:
        return f"bid {self.pk} v{self.current_version}"


class BidVersion(models.Model):
    """One submission, revision or withdrawal of a bid, sealed, with its receipt."""

    class Action(models.TextChoices):
        SUBMIT = "submit", _("Submitted")
        REVISE = "revise", _("Revised")
        WITHDRAW = "withdraw", _("Withdrawn")

    bid = models.ForeignKey(Bid, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bid_versions",
        verbose_name=_("product"),
    )
    # HPKE (to the round's public key) of the padded sealed terms (price, capacity, receipt
    # salt); ``nonce`` is empty (it was the AES-GCM nonce of rounds sealed before).
    nonce = models.BinaryField(_("nonce"))
    ciphertext = models.BinaryField(_("ciphertext"))
    receipt_hash = models.CharField(_("receipt hash"), max_length=64, unique=True)
    server_time = models.DateTimeField(_("server time"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, blank=True)
    manufacturer = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="+", verbose_name=_("manufacturer")
    )
    # The bidder's signature over the version's canonical content (bidding.signatures),
    # made before sealing with ``signing_key``; empty for an unsigned version. The receipt
    # (and so the bid log entry, which commits to the receipt hash) covers its digest.
    signature = models.BinaryField(_("signature"), default=b"", db_default=b"", blank=True)
    signing_key = models.ForeignKey(
        SigningKey,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("signing key"),
    )

    class Meta:
        ordering = ["bid", "number"]
        verbose_name = _("bid version")
        verbose_name_plural = _("bid versions")
        constraints = [
            models.UniqueConstraint(fields=["bid", "number"], name="bid_version_number_unique"),
            models.UniqueConstraint(
                fields=["manufacturer", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="bid_version_idempotency_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"bid {self.bid_id} v{self.number} ({self.action})"


class DecryptionAudit(AppendOnlyModel):
    """Append-only record of every decryption of a sealed bid: who, when, which, why.

    Rows are only ever inserted (``bidding.services``); updates and deletes are refused by
    the queryset, the model and the admin, and on PostgreSQL by a trigger (migration 0002).
    """

    class Purpose(models.TextChoices):
        OWNER_VIEW = "owner_view", _("Bidder viewed its own bid")
        BID_SHEET = "bid_sheet", _("Bidder opened its bid sheet")
        RECEIPT = "receipt", _("Bidder viewed or downloaded a receipt")
        IDEMPOTENT_REPLAY = "idempotent_replay", _("Repeated API request compared")
        OPENING = "opening", _("Public opening")

    at = models.DateTimeField(_("at"), auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organization"),
    )
    bid_version = models.ForeignKey(
        BidVersion, on_delete=models.PROTECT, related_name="decryptions", verbose_name=_("bid")
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("decryption audit entry")
        verbose_name_plural = _("decryption audit log")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.purpose} v{self.bid_version_id}"


class Opening(models.Model):
    """The public opening of a round's bids (开标记录)."""

    class Trigger(models.TextChoices):
        OFFICE = "office", _("Opened by the procurement office")
        SCHEDULE = "schedule", _("Opened on schedule")
        CEREMONY = "ceremony", _("Opened at the opening ceremony by its officials")

    round = models.OneToOneField(Round, on_delete=models.PROTECT, related_name="opening")
    opened_at = models.DateTimeField(_("opened at"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("opened by"),
    )
    trigger = models.CharField(_("trigger"), max_length=10, choices=Trigger.choices)
    bid_count = models.PositiveIntegerField(_("bids opened"), default=0)
    valid_count = models.PositiveIntegerField(_("valid bids"), default=0)
    tampered_count = models.PositiveIntegerField(_("tampered bids"), default=0)
    # The bid log check made before anything was decrypted (``bidding.services.log``):
    # the published head, the recomputed one and the findings not tied to one bid.
    log_report = models.JSONField(_("bid log check"), default=dict, blank=True)

    class Meta:
        verbose_name = _("opening")
        verbose_name_plural = _("openings")

    def __str__(self) -> str:
        return f"opening of round {self.round_id}"


class OpenedBid(models.Model):
    """A bid as opened in public: the decrypted terms, the judgement, the receipt check."""

    class Validity(models.TextChoices):
        VALID = "valid", _("Valid")
        INVALID = "invalid", _("Invalid")
        TAMPERED = "tampered", _("Tampered: failed the integrity check")

    class Reason(models.TextChoices):
        ABOVE_CEILING = "above_ceiling", _("Above the maximum valid bid price")
        INELIGIBLE_PRODUCT = "ineligible_product", _("Product not eligible")
        NO_CAPACITY = "no_capacity", _("No supply capacity declared")
        # qualification.selectors: documents not approved or expired by the bid deadline.
        SUPPLIER_UNQUALIFIED = (
            "supplier_unqualified",
            _("Bidder not qualified: documents not approved or expired by the bid deadline"),
        )
        PRODUCT_UNQUALIFIED = (
            "product_unqualified",
            _(
                "Product not qualified: registration or evaluation documents not approved or "
                "expired by the bid deadline"
            ),
        )
        CIPHERTEXT_FAILED = "ciphertext_failed", _("Ciphertext failed authentication")
        RECEIPT_MISMATCH = "receipt_mismatch", _("Content does not match the receipt")
        # The bid log (docs/sealed-bidding.md, "Bid log"): every one makes the bid tampered.
        LOG_STATE_MISMATCH = (
            "log_state_mismatch",
            _("Its current version or withdrawn state disagrees with the bid log"),
        )
        LOG_VERSION_MISSING = (
            "log_version_missing",
            _("A version recorded in the bid log is missing"),
        )
        VERSION_NOT_IN_LOG = (
            "version_not_in_log",
            _("A stored version is not in the bid log (inserted)"),
        )
        VERSION_ALTERED = (
            "version_altered",
            _("A stored version differs from its bid log entry (ciphertext, receipt or time)"),
        )
        LOG_ENTRY_ALTERED = (
            "log_entry_altered",
            _("Its bid log entry was altered, moved or reordered"),
        )
        LOG_AFTER_CLOSE = (
            "log_after_close",
            _("Its bid log entry was added after bidding closed"),
        )
        LOG_HEAD_MISMATCH = (
            "log_head_mismatch",
            _("The bid log no longer matches the head published when bidding closed"),
        )
        # bidding.signatures: the bidder's signature over the opened content.
        SIGNATURE_INVALID = (
            "signature_invalid",
            _("The bidder's signature does not verify over the opened bid"),
        )
        SIGNATURE_MISSING = (
            "signature_missing",
            _("The bid is not signed although the round requires signatures"),
        )
        # tender.selectors: a material amendment touched the bid after it was sealed.
        NOT_RECONFIRMED = (
            "not_reconfirmed",
            _(
                "Not re-confirmed after a published amendment changed its terms "
                "(its last version was sealed before the amendment)"
            ),
        )

    class Signature(models.TextChoices):
        VALID = "valid", _("Valid")
        ABSENT = "absent", _("Absent")
        INVALID = "invalid", _("Invalid")

    opening = models.ForeignKey(Opening, on_delete=models.PROTECT, related_name="bids")
    bid = models.OneToOneField(Bid, on_delete=models.PROTECT, related_name="opened")
    version = models.OneToOneField(BidVersion, on_delete=models.PROTECT, related_name="opened")
    round_item = models.ForeignKey(RoundItem, on_delete=models.PROTECT, related_name="+")
    manufacturer = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    specification = models.ForeignKey(Specification, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    unit_price = models.DecimalField(
        _("unit price"), max_digits=14, decimal_places=4, null=True, blank=True
    )
    annual_capacity = models.PositiveBigIntegerField(_("annual capacity"), null=True, blank=True)
    unit_comparable_price = models.DecimalField(
        _("unit comparable price"), max_digits=14, decimal_places=4, null=True, blank=True
    )
    max_valid_bid_price = models.DecimalField(
        _("maximum valid bid price"), max_digits=14, decimal_places=4, null=True, blank=True
    )
    validity = models.CharField(_("validity"), max_length=10, choices=Validity.choices)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    receipt_hash = models.CharField(_("receipt hash"), max_length=64)
    signature = models.CharField(
        _("signature"),
        max_length=8,
        choices=Signature.choices,
        default=Signature.ABSENT,
        db_default=Signature.ABSENT,
    )
    signature_key = models.CharField(
        _("signing key fingerprint"), max_length=64, blank=True, default="", db_default=""
    )

    class Meta:
        ordering = ["round_item", "unit_comparable_price", "manufacturer"]
        verbose_name = _("opened bid")
        verbose_name_plural = _("opened bids")

    def __str__(self) -> str:
        return f"opened bid {self.bid_id}"

    @property
    def reason_labels(self) -> list[str]:
        return [str(self.Reason(r).label) for r in self.reasons if r in self.Reason.values]


class BidLogHead(models.Model):
    """The head of a round's bid log (``bidding.bidlog``): its size, root and compact
    range, locked ``FOR UPDATE`` by every append so a round's entries are numbered one
    after the other; and the head published when bidding closed, before any decryption."""

    round = models.OneToOneField(Round, on_delete=models.PROTECT, related_name="bid_log_head")
    size = models.PositiveBigIntegerField(_("entries"), default=0)
    root = models.CharField(_("log head"), max_length=64)
    compact = models.JSONField(_("compact range"), default=list)
    updated_at = models.DateTimeField(_("last appended"), auto_now=True)
    closed_at = models.DateTimeField(_("published at"), null=True, blank=True)
    closed_size = models.PositiveBigIntegerField(_("entries at close"), null=True, blank=True)
    closed_root = models.CharField(_("log head at close"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("bid log head")
        verbose_name_plural = _("bid log heads")

    def __str__(self) -> str:
        return f"round {self.round_id}: {self.size} entries"


class BidLogEntry(models.Model):
    """One submission event in a round's bid log, with the hashes that chain it.

    It names its bid version by number (not by a foreign key), so the log stands on its
    own: the opening compares it with the stored versions and the bids' state columns.
    """

    round = models.ForeignKey(
        Round, on_delete=models.PROTECT, related_name="bid_log", verbose_name=_("round")
    )
    position = models.PositiveBigIntegerField(_("position"))
    bid = models.ForeignKey(
        Bid, on_delete=models.PROTECT, related_name="log_entries", verbose_name=_("bid")
    )
    version_number = models.PositiveIntegerField(_("version"))
    action = models.CharField(_("action"), max_length=10, choices=BidVersion.Action.choices)
    ciphertext_sha256 = models.CharField(_("ciphertext SHA-256"), max_length=64)
    receipt_hash = models.CharField(_("receipt hash"), max_length=64)
    server_time = models.CharField(_("server time"), max_length=40)  # as hashed (UTC, ISO)
    previous_root = models.CharField(_("log head before"), max_length=64)
    leaf_hash = models.CharField(_("leaf hash"), max_length=64)
    root = models.CharField(_("log head after"), max_length=64)

    class Meta:
        ordering = ["round", "position"]
        verbose_name = _("bid log entry")
        verbose_name_plural = _("bid log entries")
        constraints = [
            models.UniqueConstraint(
                fields=["round", "position"], name="bid_log_entry_position_unique"
            )
        ]
        indexes = [models.Index(fields=["receipt_hash"])]

    def __str__(self) -> str:
        return f"round {self.round_id} #{self.position}: bid {self.bid_id} v{self.version_number}"


class TamperDecision(models.Model):
    """The procurement office's recorded decision on one bid the opening judged tampered
    (docs/sealed-bidding.md, "Procedure: the office decides on each tampered bid").

    Final once recorded. Admitting re-judges the opened version on its merits (ceiling,
    eligibility, capacity); excluding leaves it tampered, out of the evaluation.
    """

    class Decision(models.TextChoices):
        ADMIT = "admit", _("Admitted: the bidder's receipts prove the opened version")
        EXCLUDE = "exclude", _("Excluded")

    opened_bid = models.OneToOneField(
        OpenedBid, on_delete=models.PROTECT, related_name="tamper_decision"
    )
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    evidence = models.TextField(_("evidence examined"), max_length=2000)
    previous_validity = models.CharField(_("validity at the opening"), max_length=10)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"))

    class Meta:
        verbose_name = _("tampered bid decision")
        verbose_name_plural = _("tampered bid decisions")

    def __str__(self) -> str:
        return f"{self.decision} opened bid {self.opened_bid_id}"

"""Evaluation runs and what they decide: item awards, bid results, allocations; objections,
province selection, the hospitals' choices for lost volume, and the award's audit.

An ``EvaluationRun`` is one solve of a round's opened bids and closed demand under one
rule-set version. Its rows (``ItemAward``, ``BidResult``, ``ProvinceAllocation``,
``HospitalAllocation``) are written together in one transaction when the solve ends, so a
run is either complete or has no rows at all. Runs are keyed by round + rule-set version
+ input hash + exclusions: the same input is never stored twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, Region
from bidding.models import OpenedBid
from procurement.models import Round, RoundItem, RuleSet


class EvaluationRunManager(models.Manager["EvaluationRun"]):
    """Leaves the result document out of every query unless asked for: at national scale
    it holds a million hospital lines (megabytes, compressed), and no page needs it. Read it
    with ``EvaluationRun.result_document()``."""

    def get_queryset(self) -> models.QuerySet[EvaluationRun]:
        return super().get_queryset().defer("result")


class EvaluationRun(models.Model):
    """One evaluation of a round under one rule-set version (official or a scenario)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    round = models.ForeignKey(
        Round, on_delete=models.PROTECT, related_name="evaluation_runs", verbose_name=_("round")
    )
    rule_set = models.ForeignKey(
        RuleSet,
        on_delete=models.PROTECT,
        related_name="evaluation_runs",
        verbose_name=_("rule set"),
    )
    rule_set_version = models.PositiveIntegerField(_("rule set version"))
    is_scenario = models.BooleanField(_("scenario"), default=False)
    # A re-run of the final award with the winners' province choices (drug rounds).
    is_selection = models.BooleanField(_("province selection"), default=False)
    # A re-run of the final award with the hospitals' choices for the volume of their
    # declared products that lost (consumable rounds), queued when the award is finalized.
    is_hospital_choice = models.BooleanField(_("hospitals' choices"), default=False)
    is_official = models.BooleanField(_("official"), default=False)
    # Opened-bid ids excluded by upheld objections, sorted; the key is their comma-joined text.
    exclusions = models.JSONField(_("excluded bids"), default=list, blank=True)
    exclusions_key = models.CharField(max_length=1000, blank=True, default="")
    input_hash = models.CharField(_("input hash"), max_length=64, blank=True, default="")
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    stage = models.CharField(_("stage"), max_length=80, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    same_as = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("same input as"),
    )
    solver_status = models.CharField(_("solver status"), max_length=16, blank=True, default="")
    solver = models.CharField(_("solver"), max_length=40, blank=True, default="")
    objective = models.DecimalField(
        _("objective"), null=True, blank=True, max_digits=24, decimal_places=6
    )
    gap = models.DecimalField(_("gap"), max_digits=12, decimal_places=6, null=True, blank=True)
    total_cost = models.DecimalField(
        _("total cost"), null=True, blank=True, max_digits=20, decimal_places=2
    )
    reference_cost = models.DecimalField(
        _("reference cost"), null=True, blank=True, max_digits=20, decimal_places=2
    )
    ceiling_cost = models.DecimalField(
        _("cost at ceilings"), null=True, blank=True, max_digits=20, decimal_places=2
    )
    savings_vs_reference = models.DecimalField(
        _("savings against reference prices"),
        null=True,
        blank=True,
        max_digits=20,
        decimal_places=2,
    )
    savings_vs_ceiling = models.DecimalField(
        _("savings against ceilings"), null=True, blank=True, max_digits=20, decimal_places=2
    )
    warnings = models.JSONField(_("warnings"), default=list, blank=True)
    explanation = models.JSONField(_("explanation"), default=list, blank=True)
    solve_seconds = models.FloatField(_("solve time (s)"), null=True, blank=True)
    # The optimiser's result document (``procurement.optimiser.result_to_dict``) as
    # compressed JSON (``awards.documents``): at national scale it holds ~10^6 hospital
    # lines, which as jsonb took ~10 s to write (PostgreSQL parsing ~60 MB) and are read
    # only whole. Read it with ``result_document()``.
    result = models.BinaryField(_("result document"), null=True, blank=True)
    comparison = models.JSONField(_("comparison row"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True, default="")
    # A fanned-out run (``awards.services.fanout``): its parts, and how many are solved.
    parts = models.PositiveSmallIntegerField(_("parts"), default=0)
    parts_done = models.PositiveSmallIntegerField(_("parts solved"), default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = EvaluationRunManager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        # Related access (run.same_as, allocation.run) defers the result document too.
        base_manager_name = "objects"
        verbose_name = _("evaluation run")
        verbose_name_plural = _("evaluation runs")
        constraints = [
            models.UniqueConstraint(
                fields=["round"],
                condition=Q(is_official=True),
                name="evaluation_one_official_run_per_round",
            ),
            models.UniqueConstraint(
                fields=["round", "rule_set", "input_hash", "exclusions_key"],
                condition=Q(status="done", same_as__isnull=True),
                name="evaluation_run_unique_input",
            ),
            models.UniqueConstraint(
                fields=["round", "rule_set", "exclusions_key"],
                condition=Q(status__in=["queued", "running"]),
                name="evaluation_one_pending_run_per_key",
            ),
            models.CheckConstraint(
                condition=Q(is_official=False) | (Q(status="done") & Q(is_scenario=False)),
                name="evaluation_official_run_is_done_and_not_a_scenario",
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="evaluation_progress_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} of round {self.round_id} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status in {self.Status.QUEUED, self.Status.RUNNING}

    def result_document(self) -> dict[str, object] | None:
        """The stored result document, read explicitly (it is deferred everywhere else;
        note that ``refresh_from_db`` does not reload a deferred field)."""
        from awards.documents import document_unpack

        packed = EvaluationRun.objects.filter(pk=self.pk).values_list("result", flat=True).get()
        return None if packed is None else document_unpack(packed)

    @property
    def source_run(self) -> EvaluationRun:
        """The run whose rows hold this run's result (itself unless it had the same input)."""
        return self.same_as if self.same_as is not None else self


class ItemAward(models.Model):
    """Per item of a run: the number of bidders, the cap, the agreed volume and term."""

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="item_awards")
    round_item = models.ForeignKey(RoundItem, on_delete=models.PROTECT, related_name="+")
    bidders = models.PositiveIntegerField(_("bidders (N)"))
    valid_bids = models.PositiveIntegerField(_("valid bids"))
    winner_cap = models.PositiveIntegerField(_("winner cap"), null=True, blank=True)
    winners = models.PositiveIntegerField(_("winners"))
    agreed_volume_share = models.DecimalField(
        _("agreed volume share"), max_digits=6, decimal_places=4, null=True, blank=True
    )
    pooled_demand = models.PositiveBigIntegerField(_("pooled demand"))
    agreed_volume = models.PositiveBigIntegerField(_("agreed volume"))
    # The item's maximum valid bid price per unit of its representative specification, as
    # the run enforced it (a specification's own ceiling converted when the representative
    # has none): reports print this figure, never one computed again.
    max_valid_bid_price = models.DecimalField(
        _("maximum valid bid price"), max_digits=14, decimal_places=4
    )
    term_years = models.PositiveSmallIntegerField(_("term (years)"), null=True, blank=True)
    cost = models.DecimalField(_("cost"), max_digits=20, decimal_places=2)
    savings_vs_reference = models.DecimalField(
        _("savings against reference price"), null=True, blank=True, max_digits=20, decimal_places=2
    )
    savings_vs_ceiling = models.DecimalField(
        _("savings against ceiling"), max_digits=20, decimal_places=2
    )
    notes = models.JSONField(_("notes"), default=list, blank=True)

    class Meta:
        ordering = ["run", "round_item__item__code"]
        verbose_name = _("item award")
        verbose_name_plural = _("item awards")
        constraints = [
            models.UniqueConstraint(fields=["run", "round_item"], name="item_award_unique"),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} item {self.round_item_id}"


class BidResult(models.Model):
    """Per opened bid of a run: won, lost or invalid, with the optimiser's reason."""

    class Outcome(models.TextChoices):
        WON = "won", _("Won")
        LOST = "lost", _("Lost")
        INVALID = "invalid", _("Invalid")

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="bid_results")
    round_item = models.ForeignKey(RoundItem, on_delete=models.PROTECT, related_name="+")
    opened_bid = models.ForeignKey(OpenedBid, on_delete=models.PROTECT, related_name="+")
    manufacturer = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(_("result"), max_length=8, choices=Outcome.choices)
    # The English text is kept for rows written before reason_parts existed and as the
    # fallback for a code the renderer does not know (awards/reasons.py).
    reason = models.TextField(_("reason"), blank=True, default="")
    # [{"code": "...", "params": {...}}, ...] as the optimiser emits them; rendered in
    # the reader's language by awards.reasons.
    reason_parts = models.JSONField(_("reason parts"), blank=True, default=list)
    rank = models.PositiveIntegerField(_("rank"), null=True, blank=True)
    unit_price = models.DecimalField(
        _("unit price"), null=True, blank=True, max_digits=24, decimal_places=6
    )
    unit_comparable_price = models.DecimalField(
        _("unit comparable price"), null=True, blank=True, max_digits=24, decimal_places=6
    )
    award_price = models.DecimalField(
        _("award price"), null=True, blank=True, max_digits=24, decimal_places=6
    )
    group = models.CharField(_("group"), max_length=4, blank=True, default="")

    class Meta:
        ordering = ["run", "round_item", "rank", "unit_comparable_price", "opened_bid_id"]
        verbose_name = _("bid result")
        verbose_name_plural = _("bid results")
        constraints = [
            models.UniqueConstraint(fields=["run", "opened_bid"], name="bid_result_unique"),
        ]
        indexes = [models.Index(fields=["manufacturer", "run"])]

    def __str__(self) -> str:
        return f"run {self.run_id} bid {self.opened_bid_id}: {self.outcome}"


class ProvinceAllocation(models.Model):
    """Which winner supplies a province for an item, at what volume and price."""

    run = models.ForeignKey(
        EvaluationRun, on_delete=models.CASCADE, related_name="province_allocations"
    )
    round_item = models.ForeignKey(RoundItem, on_delete=models.PROTECT, related_name="+")
    opened_bid = models.ForeignKey(OpenedBid, on_delete=models.PROTECT, related_name="+")
    manufacturer = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveBigIntegerField(_("agreed volume"))
    unit_price = models.DecimalField(_("unit price"), max_digits=24, decimal_places=6)
    delivery_cost = models.DecimalField(_("delivery cost"), max_digits=24, decimal_places=6)
    cost = models.DecimalField(_("cost"), max_digits=24, decimal_places=6)
    backup_bid = models.ForeignKey(
        OpenedBid, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source = models.CharField(_("source"), max_length=60, blank=True, default="")

    class Meta:
        ordering = ["run", "round_item", "region__code", "opened_bid_id"]
        verbose_name = _("province allocation")
        verbose_name_plural = _("province allocations")
        indexes = [models.Index(fields=["manufacturer", "run"])]

    def __str__(self) -> str:
        return f"run {self.run_id} {self.round_item_id}/{self.region_id}: {self.quantity}"


class HospitalAllocation(models.Model):
    """A hospital's agreed volume of an item from one winner (up to ~10^6 rows per run).

    Kept narrow on purpose: ids, a quantity and the unit price; and lightly indexed (the
    hospital or the manufacturer after the run, which is how it is read), because every
    index costs on each of the million inserts of a national evaluation.

    For the same reason its six foreign keys are not database constraints
    (``db_constraint=False``), as for the demand lines: PostgreSQL checks a constraint row
    by row at COMMIT (six keys x 920,000 rows took 19.9 s, longer than writing the rows).
    Integrity is kept by the only writer, ``awards.services.storing``, which checks every
    distinct id of every key against its table in bulk, inside the storing transaction and
    before the first row is written, and refuses the run if one is missing; deletions go
    through Django's ``on_delete`` (CASCADE with the run, PROTECT otherwise).
    docs/awards-and-contracts.md ("Storing a national evaluation") states the trade-off.
    """

    # No index of its own: both page indexes below lead with the run, and serve every read
    # and delete by run (a third index cost ~0.8 s of the 920,000-row COPY).
    run = models.ForeignKey(
        EvaluationRun,
        on_delete=models.CASCADE,
        related_name="hospital_allocations",
        db_index=False,
        db_constraint=False,
    )
    round_item = models.ForeignKey(
        RoundItem, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    opened_bid = models.ForeignKey(
        OpenedBid, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    manufacturer = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    hospital = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    quantity = models.PositiveBigIntegerField(_("agreed volume"))
    unit_price = models.DecimalField(_("unit price"), max_digits=24, decimal_places=6)

    class Meta:
        ordering = ["run", "round_item", "hospital_id", "opened_bid_id"]
        verbose_name = _("hospital allocation")
        verbose_name_plural = _("hospital allocations")
        # A party's allocations a page at a time (``selectors.hospital_allocations_list_for_user``):
        # the run (the list of official runs, read in order on the leading column), the
        # party, then the list's order, so a page is read in order from the index instead
        # of sorting every allocation of a national winner (~10^5) first. Every other
        # read of the table is by run.
        indexes = [
            models.Index(
                fields=["run", "hospital", "round_item", "opened_bid"],
                name="awards_alloc_hospital_page",
            ),
            models.Index(
                fields=["run", "manufacturer", "round_item", "hospital", "opened_bid"],
                name="awards_alloc_maker_page",
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} {self.round_item_id} h{self.hospital_id}: {self.quantity}"


class Objection(models.Model):
    """An objection (异议) by a manufacturer or a hospital against an item's proposed result."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DISMISSED = "dismissed", _("Dismissed")
        UPHELD = "upheld", _("Upheld")

    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="objections")
    run = models.ForeignKey(EvaluationRun, on_delete=models.PROTECT, related_name="objections")
    round_item = models.ForeignKey(
        RoundItem, on_delete=models.PROTECT, related_name="+", verbose_name=_("item")
    )
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    filed_at = models.DateTimeField(_("filed at"), auto_now_add=True)
    text = models.TextField(_("objection"))
    attachment = models.FileField(
        _("attachment"), upload_to="objections/%Y/%m/", blank=True, default=""
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    answer = models.TextField(_("answer"), blank=True, default="")
    excluded_bid = models.ForeignKey(
        OpenedBid,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("excluded bid"),
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        ordering = ["-filed_at", "-id"]
        verbose_name = _("objection")
        verbose_name_plural = _("objections")
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open") | ~Q(answer=""),
                name="objection_answered_has_answer",
            ),
            models.CheckConstraint(
                condition=~Q(status="upheld") | Q(excluded_bid__isnull=False),
                name="objection_upheld_excludes_a_bid",
            ),
        ]

    def __str__(self) -> str:
        return f"objection {self.pk} ({self.status})"


class ProvinceSelection(models.Model):
    """The window in which a drug round's winners choose their provinces (选择供应地区)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Selection open")
        CLOSED = "closed", _("Selection closed")

    round = models.OneToOneField(Round, on_delete=models.PROTECT, related_name="selection")
    run = models.ForeignKey(
        EvaluationRun,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The final run whose winners choose.",
    )
    closes_at = models.DateTimeField(_("selection closes"))
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.OPEN
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    result_run = models.ForeignKey(
        EvaluationRun, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("province selection")
        verbose_name_plural = _("province selections")

    def __str__(self) -> str:
        return f"selection of round {self.round_id} ({self.status})"


class ProvinceChoice(models.Model):
    """A winner's pick in the draft (``pick`` = its place in the draft order; no region
    means the pick was left to the platform), or a backup province (``pick`` = its order)."""

    class Kind(models.TextChoices):
        PRIMARY = "primary", _("Own province")
        BACKUP = "backup", _("Backup province")

    selection = models.ForeignKey(
        ProvinceSelection, on_delete=models.CASCADE, related_name="choices"
    )
    round_item = models.ForeignKey(RoundItem, on_delete=models.PROTECT, related_name="+")
    opened_bid = models.ForeignKey(OpenedBid, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    pick = models.PositiveIntegerField()
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["selection", "round_item", "kind", "pick"]
        constraints = [
            models.UniqueConstraint(
                fields=["selection", "round_item", "pick"],
                condition=Q(kind="primary"),
                name="province_choice_one_per_pick",
            ),
            models.UniqueConstraint(
                fields=["selection", "round_item", "region"],
                condition=Q(kind="primary", region__isnull=False),
                name="province_choice_region_taken_once",
            ),
            models.UniqueConstraint(
                fields=["selection", "opened_bid", "pick"],
                condition=Q(kind="backup"),
                name="province_backup_order_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.pick}: {self.region_id}"


class LostVolumeChoice(models.Model):
    """A hospital's choice of a winner to receive the intended volume of its declared
    products that lost (consumable rounds, DESIGN §2.2): one row per preference, rank 1
    first. No rows for an item means the platform's minimum-cost default.

    Made while the proposed winners are published (objection period), read by
    ``awards.problem.lost_volume_preferences`` as the hospital's ``reassign_to``.
    """

    round_item = models.ForeignKey(
        RoundItem, on_delete=models.PROTECT, related_name="+", verbose_name=_("item")
    )
    hospital = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": Organization.Kind.HOSPITAL},
        verbose_name=_("hospital"),
    )
    rank = models.PositiveSmallIntegerField(_("preference"))
    opened_bid = models.ForeignKey(
        OpenedBid, on_delete=models.PROTECT, related_name="+", verbose_name=_("winner")
    )
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["round_item", "hospital", "rank"]
        verbose_name = _("hospital's choice for lost volume")
        verbose_name_plural = _("hospitals' choices for lost volume")
        constraints = [
            models.UniqueConstraint(
                fields=["round_item", "hospital", "rank"], name="lost_volume_choice_one_per_rank"
            ),
            models.UniqueConstraint(
                fields=["round_item", "hospital", "opened_bid"],
                name="lost_volume_choice_winner_once",
            ),
            models.CheckConstraint(
                condition=Q(rank__gte=1), name="lost_volume_choice_rank_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"h{self.hospital_id} {self.round_item_id} #{self.rank}: bid {self.opened_bid_id}"


class BidExclusion(models.Model):
    """A bid excluded from a round's evaluation by an upheld objection."""

    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="bid_exclusions")
    opened_bid = models.ForeignKey(OpenedBid, on_delete=models.PROTECT, related_name="+")
    objection = models.ForeignKey(Objection, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("reason"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["round", "opened_bid_id"]
        constraints = [
            models.UniqueConstraint(fields=["round", "opened_bid"], name="bid_exclusion_unique"),
        ]

    def __str__(self) -> str:
        return f"round {self.round_id} excludes bid {self.opened_bid_id}"


class AuditEntry(models.Model):
    """Append-only record of award decisions: finalization, objection answers, switches."""

    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="award_audit")
    action = models.CharField(max_length=40)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.round_id} {self.action}"


class RelaxationCost(models.Model):
    """The cost of one relaxed problem of the scenario comparison, by the relaxed
    problem's input hash and the time it was given: a relaxation already solved (the
    same bids and the same relaxed rules, in any run) is read back, not solved again."""

    input_hash = models.CharField(_("input hash"), max_length=64)
    time_limit = models.FloatField(_("time limit (s)"))
    status = models.CharField(_("solver status"), max_length=20)
    # the exact decimal text of the total cost (as the result gives it); "": infeasible
    cost = models.CharField(_("total cost"), max_length=40, blank=True, default="")
    seconds = models.FloatField(_("solve time (s)"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("relaxation cost")
        verbose_name_plural = _("relaxation costs")
        constraints = [
            models.UniqueConstraint(
                fields=["input_hash", "time_limit"], name="relaxation_cost_unique_input"
            )
        ]

    def __str__(self) -> str:
        return f"{self.input_hash[:12]} ({self.time_limit:g} s): {self.cost}"


class EvaluationPart(models.Model):
    """One chunk of items of a fanned-out evaluation run (``awards.services.fanout``):
    the chunk's problem (canonical bytes, compressed) written by the run's task, and its
    part of the result (``procurement.optimiser.fanout.part_to_bytes``) written by the
    chunk's task. A part is reused for a chunk of the same problem (``input_hash``, the
    chunk problem's own) and money scale (``digits``) in any run, and a redelivered
    chunk task finds its part and does not solve again. ``whole_hash`` is the input hash
    of the run's whole problem, which the merge checks it rebuilds."""

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="+")
    index = models.PositiveSmallIntegerField(_("part"))
    items = models.PositiveIntegerField(_("items"))
    whole_hash = models.CharField(_("input hash of the run's problem"), max_length=64)
    input_hash = models.CharField(_("input hash"), max_length=64)
    digits = models.PositiveSmallIntegerField(_("money scale (decimals)"))
    problem = models.BinaryField(_("problem of the part"), default=b"")
    result = models.BinaryField(_("result of the part"), null=True, blank=True)
    seconds = models.FloatField(_("solve time (s)"), null=True, blank=True)
    reused = models.BooleanField(_("read back from an earlier run"), default=False)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("evaluation part")
        verbose_name_plural = _("evaluation parts")
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="evaluation_part_unique_index")
        ]
        indexes = [models.Index(fields=["input_hash", "digits"], name="evaluation_part_input")]

    def __str__(self) -> str:
        return f"part {self.index} of run {self.run_id}"

"""Contracts: drawing them up from the official award, confirming, amending, their PDFs,
and the start of execution.

One contract per hospital and winner, a line per item. The hospital confirms first, then
the manufacturer; a contract both have confirmed changes only by an amendment, which keeps
every earlier version. Locks the round row first (``awards.services.lock_round``), then
the contract rows.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Notification, User
from accounts.notifications import notifications_mark_done, notify
from accounts.signing import SignatureInput
from awards.models import (
    AuditEntry,
    EvaluationRun,
    HospitalAllocation,
    ItemAward,
    ProvinceSelection,
)
from awards.services import (
    BATCH_SIZE,
    choice_run_blocker,
    insert_batched,
    local_time_text,
    lock_round,
    official_run_get,
)
from bidding.models import OpenedBid
from catalog.comparable_price import ComparablePriceCoefficients
from catalog.comparable_price import Specification as ComparableSpec
from catalog.models import Specification
from contracts import summaries
from contracts.models import (
    Contract,
    ContractAmendment,
    ContractLine,
    ContractLineSpecification,
)
from contracts.signatures import confirmation_signature_check, contract_signatures_verify
from contracts.specifications import SpecShare, line_shares, split_quantity
from procurement.models import DemandDeclaration, Round, RoundItem
from procurement.services import round_advance

S = Round.Status
R = EvaluationRun.Status


def _add_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def term_end(starts_on: datetime.date, years: int) -> datetime.date:
    """Last day of a term of ``years`` starting on ``starts_on``."""
    return _add_years(starts_on, years) - datetime.timedelta(days=1)


def contracts_generate_blocker(*, round_: Round, now: datetime.datetime | None = None) -> str:
    """Why the round's contracts cannot be drawn up yet ("" when they can): what has to
    happen first, and when. The award page shows it instead of the button; the service
    refuses with it.

    Drug rounds wait for province selection: the contracts follow the provinces the winners
    chose, so they are drawn up from the allocation that selection produces, not before.
    """
    now = now or timezone.now()
    if round_.status != S.AWARDED:
        return _(
            "Contracts are drawn up once the award is final; round %(code)s is %(status)s."
        ) % {"code": round_.code, "status": round_.get_status_display()}
    if round_.kind != Round.Kind.DRUGS:
        return choice_run_blocker(round_=round_)
    selection = ProvinceSelection.objects.filter(round=round_).select_related("result_run").first()
    if selection is None:
        return _(
            "Open the province selection first: contracts are drawn up after the winners "
            "have chosen their provinces and the platform has allocated the rest."
        )
    if selection.status == ProvinceSelection.Status.OPEN:
        if now < selection.closes_at:
            return _(
                "Province selection is open until %(when)s (China Standard Time). Contracts "
                "can be drawn up once it has closed and the provinces are allocated."
            ) % {"when": local_time_text(selection.closes_at)}
        return _(
            "The province selection window ended at %(when)s (China Standard Time); it is "
            "being closed (within a minute) and the provinces are then allocated. Contracts "
            "can be drawn up after that."
        ) % {"when": local_time_text(selection.closes_at)}
    result = selection.result_run
    if result is None or result.status in (R.QUEUED, R.RUNNING):
        return _(
            "The province allocation after selection is running; contracts can be drawn up "
            "when it has finished."
        )
    if result.status != R.DONE:
        return _(
            "The province allocation after selection failed; run it again from its run "
            "page, then draw up the contracts."
        )
    return ""


def contracts_source_run(round_: Round) -> EvaluationRun:
    """The run the round's contracts are drawn up from; refused with the blocker's
    reason while they cannot be (``contracts_generate_blocker``)."""
    blocker = contracts_generate_blocker(round_=round_)
    if blocker:
        raise ValidationError(blocker)
    return official_run_get(round_).source_run


def contracts_generate(*, round_: Round, by: User | None) -> int:
    """Draw up one contract per hospital x winner, a line per item, from the official run.

    Idempotent: a round that has contracts gets no more (the round row is locked, so two
    requests cannot both generate). Hospitals are notified that a contract awaits them.
    """
    with transaction.atomic():
        locked = lock_round(round_.pk)
        if Contract.objects.filter(round=locked).exists():
            return 0
        run = contracts_source_run(locked)
        terms = dict(ItemAward.objects.filter(run=run).values_list("round_item_id", "term_years"))
        grouped = _allocations_by_pair(run)
        split = _SpecificationSplit.load(locked, run)
        shares = {
            (hospital_id, item_id): split.shares(hospital_id, item_id, bid_id, quantity, price)
            for (hospital_id, _), lines in grouped.items()
            for item_id, (bid_id, _, quantity, price) in lines.items()
        }
        starts = locked.contract_starts_on
        contracts = []
        for n, ((hospital_id, manufacturer_id), lines) in enumerate(sorted(grouped.items()), 1):
            contracts.append(
                Contract(
                    round=locked,
                    run=run,
                    number=f"{locked.code}-HT{n:06d}",
                    hospital_id=hospital_id,
                    manufacturer_id=manufacturer_id,
                    starts_on=starts,
                    total=sum(
                        (sum_amounts(shares[(hospital_id, item_id)]) for item_id in lines),
                        Decimal("0.00"),
                    ),
                )
            )
        for start in range(0, len(contracts), BATCH_SIZE):
            Contract.objects.bulk_create(contracts[start : start + BATCH_SIZE])
        if contracts and contracts[0].pk is None:  # a backend that returns no ids
            by_pair = {
                (c.hospital_id, c.manufacturer_id): c for c in Contract.objects.filter(round=locked)
            }
            contracts = [by_pair[(c.hospital_id, c.manufacturer_id)] for c in contracts]
        insert_batched(
            ContractLine,
            (
                ContractLine(
                    contract=contract,
                    version=0,
                    round_item_id=item_id,
                    opened_bid_id=bid_id,
                    region_id=region_id,
                    quantity=quantity,
                    unit_price=price,
                    amount=sum_amounts(shares[(contract.hospital_id, item_id)]),
                    term_years=terms.get(item_id) or 1,
                    starts_on=starts,
                    ends_on=term_end(starts, terms.get(item_id) or 1),
                )
                for contract, lines in zip(
                    contracts, (grouped[k] for k in sorted(grouped)), strict=True
                )
                for item_id, (bid_id, region_id, quantity, price) in sorted(lines.items())
            ),
        )
        hospital_of = {c.pk: c.hospital_id for c in contracts}
        # The new lines are read back by their contracts' id range, not through a join on
        # the round: the planner's statistics still describe the tables as they were
        # before this transaction inserted ~10^6 lines, and with them a join is planned as
        # a nested loop over a sequential scan (2.5 min per 20,000 lines on a national
        # round). Lines of other rounds' contracts inside the range are skipped.
        first, last = (min(hospital_of), max(hospital_of)) if hospital_of else (0, -1)
        insert_batched(
            ContractLineSpecification,
            (
                ContractLineSpecification(
                    line_id=line_id,
                    specification_id=share.specification_id,
                    is_bid=share.is_bid,
                    quantity=share.quantity,
                    unit_price=share.unit_price,
                    amount=share.amount,
                )
                for line_id, contract_id, item_id in ContractLine.objects.filter(
                    contract_id__gte=first, contract_id__lte=last, version=0
                )
                .order_by("pk")
                .values_list("pk", "contract_id", "round_item_id")
                .iterator(chunk_size=20_000)
                if contract_id in hospital_of
                for share in shares[(hospital_of[contract_id], item_id)]
            ),
        )
        AuditEntry.objects.create(
            round=locked, action="contracts_generated", by=by, detail={"contracts": len(contracts)}
        )
        notify(
            organizations={c.hospital_id for c in contracts},
            kind=Notification.Kind.CONTRACT_TO_CONFIRM,
            subject=gettext_noop("Contracts of round %(code)s to confirm"),
            body=gettext_noop(
                "Your purchase contracts of round %(code)s are ready. Check and confirm them."
            ),
            params={"code": locked.code},
            url=reverse("contracts:contracts"),
            dedupe_key=f"contracts-ready:{locked.pk}",
        )
    return len(contracts)


def _allocations_by_pair(run: EvaluationRun) -> dict[tuple[int, int], dict[int, list[Any]]]:
    """(hospital id, manufacturer id) -> round item id -> [opened bid id, region id,
    quantity, unit price] of the run's hospital allocations (a hospital's quantities of an
    item from one winner summed), read in chunks: a national round has a million rows."""
    grouped: dict[tuple[int, int], dict[int, list[Any]]] = {}
    for h in (
        HospitalAllocation.objects.filter(run=run)
        .order_by("hospital_id", "manufacturer_id", "round_item_id")
        .values_list(
            "hospital_id",
            "manufacturer_id",
            "round_item_id",
            "opened_bid_id",
            "region_id",
            "quantity",
            "unit_price",
        )
        .iterator(chunk_size=20_000)
    ):
        hospital_id, manufacturer_id, item_id, bid_id, region_id, quantity, price = h
        lines = grouped.setdefault((hospital_id, manufacturer_id), {})
        if item_id in lines:
            lines[item_id][2] += quantity
        else:
            lines[item_id] = [bid_id, region_id, quantity, price]
    return grouped


def sum_amounts(shares: Sequence[SpecShare]) -> Decimal:
    return sum((share.amount for share in shares), Decimal("0.00"))


@dataclass
class _SpecificationSplit:
    """What splitting a round's lines by specification needs (``contracts.specifications``):
    the specifications of its items, the opened bids' specification and prices, and the
    hospitals' declared quantities per specification of the items that have more than one
    (a single-specification item needs none)."""

    coefficients: ComparablePriceCoefficients
    specs: dict[int, dict[int, ComparableSpec]]
    representative: dict[int, int]
    bids: dict[int, tuple[int, Decimal | None, Decimal | None]]
    declared: dict[tuple[int, int], dict[int, int]]

    @classmethod
    def load(cls, round_: Round, run: EvaluationRun) -> _SpecificationSplit:
        specs: dict[int, dict[int, ComparableSpec]] = {}
        representative: dict[int, int] = {}
        round_items = RoundItem.objects.filter(round=round_).select_related("item")
        item_of = {ri.item_id: ri.pk for ri in round_items}
        for spec in Specification.objects.filter(item_id__in=list(item_of)).select_related("item"):
            round_item_id = item_of[spec.item_id]
            specs.setdefault(round_item_id, {})[spec.pk] = spec.as_comparable()
            if spec.is_representative:
                representative[round_item_id] = spec.pk
        bids = {
            pk: (spec_id, price, comparable)
            for pk, spec_id, price, comparable in OpenedBid.objects.filter(
                round_item__round=round_
            ).values_list("pk", "specification_id", "unit_price", "unit_comparable_price")
        }
        several = [ri for ri, by_id in specs.items() if len(by_id) > 1]
        declared: dict[tuple[int, int], dict[int, int]] = {}
        for hospital_id, item_id, spec_id, quantity in (
            DemandDeclaration.objects.filter(round_item_id__in=several)
            .filter(specification__isnull=False)
            .values_list("hospital_id", "round_item_id", "specification_id", "quantity")
            .iterator(chunk_size=20_000)
        ):
            mix = declared.setdefault((hospital_id, item_id), {})
            mix[spec_id] = mix.get(spec_id, 0) + quantity
        return cls(
            coefficients=ComparablePriceCoefficients.from_parameters(
                run.rule_set.parameters.get("comparable_price") or {}
            ),
            specs=specs,
            representative=representative,
            bids=bids,
            declared=declared,
        )

    def shares(
        self, hospital_id: int, item_id: int, bid_id: int, quantity: int, award_price: Decimal
    ) -> list[SpecShare]:
        bid_spec, bid_price, comparable = self.bids[bid_id]
        item_specs = self.specs.get(item_id, {})
        if bid_price is None or bid_spec not in item_specs:
            # No price opened (or a specification outside the item): the award price.
            return [
                SpecShare(bid_spec, True, quantity, award_price, amount_of(quantity, award_price))
            ]
        return line_shares(
            quantity=quantity,
            declared=self.declared.get((hospital_id, item_id), {}),
            bid_specification_id=bid_spec,
            bid_price=bid_price,
            bid_comparable_price=comparable,
            award_price=award_price,
            representative_id=self.representative.get(item_id, bid_spec),
            specs=item_specs,
            coefficients=self.coefficients,
        )


def amount_of(quantity: int, price: Decimal) -> Decimal:
    """A line's amount in yuan: quantity x unit price, rounded half up to the fen."""
    return (Decimal(quantity) * price).quantize(Decimal("0.01"), ROUND_HALF_UP)


def contract_confirm(
    *,
    contract: Contract,
    by: User,
    now: datetime.datetime | None = None,
    signature: SignatureInput | None = None,
) -> Contract:
    """The hospital confirms first, then the manufacturer; each records who and when.

    ``signature``: the party's signature of the contract's canonical content
    (``contracts.signatures``), verified before anything is written and required when the
    round requires signatures.

    A conditional UPDATE on the expected status (under the round lock) makes a double
    click or a race confirm once; when the last contract of a round is confirmed by both
    parties, the round moves to "contracts signed".
    """
    now = now or timezone.now()
    org = by.organization
    with transaction.atomic():
        locked_round = lock_round(contract.round_id)
        C = Contract.Status
        contract.round = locked_round
        signed = confirmation_signature_check(contract=contract, by=by, signature=signature, at=now)
        if org is not None and org.pk == contract.hospital_id:
            updated = Contract.objects.filter(pk=contract.pk, status=C.AWAITING_HOSPITAL).update(
                status=C.AWAITING_MANUFACTURER,
                hospital_confirmed_by=by,
                hospital_confirmed_at=now,
                revision=models.F("revision") + 1,
            )
            if updated != 1:
                raise ValidationError(_("Your organization has already confirmed this contract."))
            if not Contract.objects.filter(
                round_id=contract.round_id, hospital_id=org.pk, status=C.AWAITING_HOSPITAL
            ).exists():  # the hospital has confirmed every contract of the round
                notifications_mark_done(
                    organization_id=org.pk, dedupe_keys=[f"contracts-ready:{contract.round_id}"]
                )
            notify(
                organizations=[contract.manufacturer_id],
                kind=Notification.Kind.CONTRACT_TO_CONFIRM,
                subject=gettext_noop("Contract %(number)s to confirm"),
                body=gettext_noop(
                    "The hospital confirmed contract %(number)s. Check and confirm it."
                ),
                params={"number": contract.number},
                url=reverse("contracts:contract", args=[contract.pk]),
                dedupe_key=f"contract-to-confirm:{contract.pk}",
            )
        elif org is not None and org.pk == contract.manufacturer_id:
            current = Contract.objects.get(pk=contract.pk).status
            if current == C.AWAITING_HOSPITAL:
                raise ValidationError(_("The hospital confirms first."))
            updated = Contract.objects.filter(
                pk=contract.pk, status=C.AWAITING_MANUFACTURER
            ).update(
                status=C.CONFIRMED,
                manufacturer_confirmed_by=by,
                manufacturer_confirmed_at=now,
                revision=models.F("revision") + 1,
            )
            if updated != 1:
                raise ValidationError(_("Your organization has already confirmed this contract."))
            notifications_mark_done(
                organization_id=org.pk, dedupe_keys=[f"contract-to-confirm:{contract.pk}"]
            )
            summaries.mark_changed([contract.round_id])  # its lines now count in progress
            if (
                locked_round.status == S.AWARDED
                and not Contract.objects.filter(round=locked_round)
                .exclude(status=C.CONFIRMED)
                .exists()
            ):
                round_advance(
                    round_=locked_round, to=S.CONTRACTED, by=by, note="all contracts confirmed"
                )
        else:
            raise ValidationError(_("Only the parties to a contract can confirm it."))
        if signed is not None:
            signed.save()
    contract.refresh_from_db()
    return contract


def contract_lines(contract: Contract, version: int | None = None) -> list[ContractLine]:
    v = contract.current_version if version is None else version
    return list(
        ContractLine.objects.filter(contract=contract, version=v)
        .select_related(
            "round_item__item", "region", "opened_bid__product", "opened_bid__specification"
        )
        .prefetch_related("spec_lines__specification")
        .order_by("round_item__item__code")
    )


def contract_amend(
    *,
    contract: Contract,
    by: User | None,
    reason: str,
    effective_from: datetime.date,
    quantities: dict[int, int],
    added: Sequence[ContractLine] = (),
) -> ContractAmendment:
    """Amend a confirmed contract: new quantities per item (round item id -> agreed
    volume) and, for a supplier switch, new lines (``added``, unsaved, any version).

    The current lines are copied to a new version with the changes; every earlier version
    stays as it was. Locks the contract row.
    """
    if not reason.strip():
        raise ValidationError(_("Give the reason for the amendment."))
    with transaction.atomic():
        locked = Contract.objects.select_for_update().get(pk=contract.pk)
        if locked.status != Contract.Status.CONFIRMED:
            raise ValidationError(
                _("Only a contract confirmed by both parties is amended; change it otherwise.")
            )
        lines = contract_lines(locked)
        known = {line.round_item_id for line in lines}
        unknown = set(quantities) - known
        if unknown or known & {line.round_item_id for line in added}:
            raise ValidationError(_("The amendment names an item the contract does not have."))
        version = locked.current_version + 1
        new_lines = []
        new_specs: list[list[ContractLineSpecification]] = []
        for line in [*lines, *added]:
            quantity = quantities.get(line.round_item_id, line.quantity)
            # The specifications bought keep their mix and prices (contracts.specifications).
            specs = _respecified(line, quantity) if line.pk else []
            new_lines.append(
                ContractLine(
                    contract=locked,
                    version=version,
                    round_item_id=line.round_item_id,
                    opened_bid_id=line.opened_bid_id,
                    region_id=line.region_id,
                    quantity=quantity,
                    unit_price=line.unit_price,
                    amount=sum((s.amount for s in specs), Decimal("0.00"))
                    if specs
                    else amount_of(quantity, line.unit_price),
                    term_years=line.term_years,
                    starts_on=line.starts_on,
                    ends_on=line.ends_on,
                )
            )
            new_specs.append(specs)
        ContractLine.objects.bulk_create(new_lines)
        for new_line, specs in zip(new_lines, new_specs, strict=True):
            for spec in specs:
                spec.line = new_line
        ContractLineSpecification.objects.bulk_create([s for specs in new_specs for s in specs])
        locked.current_version = version
        locked.total = sum((line.amount for line in new_lines), Decimal("0.00"))
        locked.revision += 1
        locked.save(update_fields=["current_version", "total", "revision"])
        summaries.mark_changed([locked.round_id])
        amendment = ContractAmendment.objects.create(
            contract=locked,
            version=version,
            reason=reason.strip(),
            effective_from=effective_from,
            by=by,
        )
    return amendment


def _respecified(line: ContractLine, quantity: int) -> list[ContractLineSpecification]:
    """``line``'s specifications at a new quantity: the same mix (by largest remainder)
    and prices, each amount rounded to the fen once."""
    old = list(line.spec_lines.all())
    if not old:
        return []
    weights = {s.specification_id: s.quantity for s in old}
    if not any(weights.values()):
        weights = {s.specification_id: int(s.is_bid) for s in old}
    shares = split_quantity(quantity, weights) if quantity else {}
    return [
        ContractLineSpecification(
            specification_id=s.specification_id,
            is_bid=s.is_bid,
            quantity=shares.get(s.specification_id, 0),
            unit_price=s.unit_price,
            amount=amount_of(shares.get(s.specification_id, 0), s.unit_price),
        )
        for s in old
    ]


def contract_pdf_render(*, contract_id: int) -> bool:
    """Render the contract's PDF in Chinese and English if the stored one is out of date.

    Idempotent: returns False when the PDFs are already of the current revision. The files
    are written first and the row is updated only if the revision did not move meanwhile
    (a conditional UPDATE), so a stale render never overwrites a newer one.
    """
    from django.core.files.base import ContentFile

    from common.pdf import render_template_pdf, sha256

    contract = Contract.objects.select_related(
        "round", "hospital", "manufacturer", "hospital_confirmed_by", "manufacturer_confirmed_by"
    ).get(pk=contract_id)
    if contract.pdf_ready:
        return False
    revision = contract.revision
    context = {
        "contract": contract,
        "lines": contract_lines(contract),
        "amendments": list(contract.amendments.all()),
        "signatures": contract_signatures_verify(contract=contract),
    }
    zh = render_template_pdf("contracts/pdf/contract.html", context, language="zh-hans")
    en = render_template_pdf("contracts/pdf/contract.html", context, language="en")
    storage = Contract._meta.get_field("pdf_zh").storage
    name = f"contracts/{contract.round.code}/{contract.number}-r{revision}"
    zh_name = storage.save(f"{name}-zh.pdf", ContentFile(zh))
    en_name = storage.save(f"{name}-en.pdf", ContentFile(en))
    updated = Contract.objects.filter(pk=contract.pk, revision=revision).update(
        pdf_zh=zh_name,
        pdf_en=en_name,
        pdf_zh_sha256=sha256(zh),
        pdf_en_sha256=sha256(en),
        pdf_revision=revision,
    )
    return updated == 1


def contract_pdfs_part_finish(
    *, batch_id: int, part: str, done: int, rendered: int, failed: int
) -> bool:
    """Count a finished chunk of a PDF batch, once: False when ``part`` was counted already
    (a redelivered chunk). The batch row is locked, so two chunks finishing together both
    count; the last one sets ``finished_at``."""
    from contracts.models import ContractPdfBatch

    with transaction.atomic():
        batch = ContractPdfBatch.objects.select_for_update().get(pk=batch_id)
        if part in batch.parts_finished:
            return False
        batch.parts_finished = [*batch.parts_finished, part]
        batch.done += done
        batch.rendered += rendered
        batch.failed += failed
        if batch.done + batch.failed >= batch.total and batch.finished_at is None:
            batch.finished_at = timezone.now()
        batch.save(
            update_fields=[
                "parts_finished",
                "done",
                "rendered",
                "failed",
                "finished_at",
                "updated_at",
            ]
        )
        return True


def execution_start(*, round_: Round, by: User | None) -> Round:
    with transaction.atomic():
        locked = lock_round(round_.pk)
        return round_advance(round_=locked, to=S.IN_EXECUTION, by=by, note="execution starts")


def execution_start_check(*, now: datetime.datetime) -> int:
    """Rounds whose contracts are all signed start execution on the contract start date."""
    today = timezone.localdate(now)
    started = 0
    for round_ in Round.objects.filter(status=S.CONTRACTED, contract_starts_on__lte=today):
        try:
            execution_start(round_=round_, by=None)
            started += 1
        except ValidationError:
            pass
    return started

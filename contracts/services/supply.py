"""Supply failures and the switch to a backup supplier.

A winner failing to supply an item in a province is reported (by the office, a hospital
of the province or the supplier itself); the office switches the province to a backup
winner from the first day of a month: the failing supplier's contracts keep what was
bought before, and the rest goes to the backup by amendment or a new contract.
Locks the round row first (``awards.services.lock_round``), then each contract row.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Notification, Organization, Region, User
from accounts.notifications import notify
from awards.models import AuditEntry, BidResult, EvaluationRun, ProvinceAllocation
from awards.services import lock_round, official_run_get
from common.i18n import bilingual
from contracts.models import Contract, ContractLine, Purchase, SupplyFailure
from contracts.services.contracts import amount_of, contract_amend, contract_lines
from procurement.models import Round

S = Round.Status


def _current_supplier(run: EvaluationRun, round_item_id: int, region: Region) -> int | None:
    """The manufacturer supplying a province now: the last switch's backup, else the award."""
    switched = (
        SupplyFailure.objects.filter(
            round=run.round,
            round_item_id=round_item_id,
            region=region,
            status=SupplyFailure.Status.SWITCHED,
        )
        .select_related("backup_bid")
        .order_by("-switched_at", "-pk")
        .first()
    )
    if switched is not None and switched.backup_bid is not None:
        return switched.backup_bid.manufacturer_id
    allocation = ProvinceAllocation.objects.filter(
        run=run, round_item_id=round_item_id, region=region
    ).first()
    return allocation.manufacturer_id if allocation else None


def supply_failure_report(
    *, round_: Round, round_item_id: int, region: Region, by: User, description: str
) -> SupplyFailure:
    """Report that a province's supplier of an item is failing to supply.

    The office, a hospital of that province, or the supplier itself may report it.
    """
    if not description.strip():
        raise ValidationError(_("Say what happened."))
    if round_.status not in {S.CONTRACTED, S.IN_EXECUTION}:
        raise ValidationError(_("Supply failures are reported while contracts are in force."))
    run = official_run_get(round_).source_run
    supplier = _current_supplier(run, round_item_id, region)
    if supplier is None:
        raise ValidationError(_("Nobody supplies this item in that province."))
    org = by.organization
    allowed = org is not None and (
        (org.kind == Organization.Kind.OFFICE and round_.office_id == org.pk)
        or (org.kind == Organization.Kind.HOSPITAL and org.region_id == region.pk)
        or org.pk == supplier
    )
    if not allowed:
        raise ValidationError(
            _("Only the office, a hospital of the province or the supplier can report this.")
        )
    return SupplyFailure.objects.create(
        round=round_,
        round_item_id=round_item_id,
        region=region,
        manufacturer_id=supplier,
        description=description.strip(),
        reported_by=by,
    )


def supplier_switch(
    *,
    failure: SupplyFailure,
    by: User,
    switch_from: datetime.date,
    backup_bid_id: int | None = None,
) -> list[Contract]:
    """Switch a failing province to a backup winner from the first day of a month.

    Every confirmed contract of the failing supplier with a hospital of the province is
    amended: its line for the item keeps what was bought before the switch. The rest of
    each hospital's agreed volume goes to the backup at the backup's award price: by an
    amendment of their confirmed contract, a change of a contract not yet confirmed, or a
    new contract for both to confirm. Locks the round row, then each contract row.
    """
    if switch_from.day != 1:
        raise ValidationError(_("A switch takes effect on the first day of a month."))
    with transaction.atomic():
        locked_round = lock_round(failure.round_id)
        if locked_round.status not in {S.CONTRACTED, S.IN_EXECUTION}:
            raise ValidationError(_("Supply failures are reported while contracts are in force."))
        run = official_run_get(locked_round).source_run
        backup = _backup_winner(run, failure, backup_bid_id)
        updated = SupplyFailure.objects.filter(
            pk=failure.pk, status=SupplyFailure.Status.REPORTED
        ).update(
            status=SupplyFailure.Status.SWITCHED,
            backup_bid_id=backup.opened_bid_id,
            switch_from=switch_from,
            switched_by=by,
            switched_at=timezone.now(),
        )
        if updated != 1:
            raise ValidationError(_("This supply failure has already been handled."))
        reason = _(
            "Supply failure %(id)s: %(item)s in %(province)s is supplied by the backup "
            "supplier from %(date)s."
        ) % {
            "id": failure.pk,
            "item": failure.round_item.item.code,
            "province": failure.region.name,
            "date": f"{switch_from:%Y-%m-%d}",
        }
        switch = _Switch(
            round_=locked_round,
            run=run,
            backup=backup,
            price=backup.award_price or backup.unit_price or Decimal(0),
            switch_from=switch_from,
            reason=reason,
            by=by,
        )
        changed = _switch_contracts(switch, failure)
        AuditEntry.objects.create(
            round=locked_round,
            action="supplier_switched",
            by=by,
            detail={
                "failure": failure.pk,
                "backup_bid": backup.opened_bid_id,
                "from": f"{switch_from:%Y-%m-%d}",
                "contracts": [c.pk for c in changed],
            },
        )
        _notify_switch(failure, backup, changed, switch_from)
    return changed


def _notify_switch(
    failure: SupplyFailure,
    backup: BidResult,
    changed: list[Contract],
    switch_from: datetime.date,
) -> None:
    """The hospitals whose contracts changed, the failing supplier and the backup."""
    hospitals = {c.hospital_id for c in changed}
    notify(
        organizations=hospitals | {failure.manufacturer_id, backup.manufacturer_id},
        kind=Notification.Kind.SUPPLIER_SWITCHED,
        subject=gettext_noop("Supplier switched for %(item)s in %(province)s"),
        body=gettext_noop(
            "From %(date)s, %(item)s in %(province)s is supplied by %(backup)s. "
            "The affected contracts are amended."
        ),
        params={
            "item": bilingual(failure.round_item.item.name, failure.round_item.item.name_en),
            "province": bilingual(failure.region.name_zh, failure.region.name_en),
            "date": f"{switch_from:%Y-%m-%d}",
            "backup": backup.manufacturer.name,
        },
        url=reverse("contracts:contracts"),
        dedupe_key=f"switch:{failure.pk}",
    )


def _backup_winner(
    run: EvaluationRun, failure: SupplyFailure, backup_bid_id: int | None
) -> BidResult:
    """The backup: the winner named, or else the province's backup from the award; refused
    unless it is another winner of the item."""
    allocation = (
        ProvinceAllocation.objects.filter(
            run=run, round_item_id=failure.round_item_id, region=failure.region
        )
        .select_related("backup_bid")
        .first()
    )
    if backup_bid_id is None:
        backup_bid_id = allocation.backup_bid_id if allocation else None
    backup = BidResult.objects.filter(
        run=run,
        round_item_id=failure.round_item_id,
        opened_bid_id=backup_bid_id,
        outcome=BidResult.Outcome.WON,
    ).first()
    if backup is None or backup.manufacturer_id == failure.manufacturer_id:
        raise ValidationError(_("Choose another winner of the item as the backup supplier."))
    return backup


@dataclass(frozen=True)
class _Switch:
    """A switch under way: the locked round, the award's run, the backup winner and its
    price, the first day it supplies, the amendments' reason and who switches."""

    round_: Round
    run: EvaluationRun
    backup: BidResult
    price: Decimal
    switch_from: datetime.date
    reason: str
    by: User


def _switch_contracts(switch: _Switch, failure: SupplyFailure) -> list[Contract]:
    """Amend each confirmed contract of the failing supplier in the province to what was
    bought before the switch; the rest of each hospital's volume goes to the backup."""
    affected = list(
        Contract.objects.select_for_update()
        .filter(
            round=switch.round_,
            manufacturer_id=failure.manufacturer_id,
            hospital__region=failure.region,
        )
        .order_by("pk")
    )
    changed: list[Contract] = []
    for contract in affected:
        line = next(
            (cl for cl in contract_lines(contract) if cl.round_item_id == failure.round_item_id),
            None,
        )
        if line is None:
            continue
        if contract.status != Contract.Status.CONFIRMED:
            raise ValidationError(
                _("Contract %(number)s is not confirmed yet; it cannot be switched.")
                % {"number": contract.number}
            )
        bought_before = (
            Purchase.objects.filter(
                contract=contract, round_item_id=line.round_item_id, month__lt=switch.switch_from
            ).aggregate(total=models.Sum("quantity"))["total"]
            or 0
        )
        keep = min(line.quantity, bought_before)
        remaining = line.quantity - keep
        contract_amend(
            contract=contract,
            by=switch.by,
            reason=switch.reason,
            effective_from=switch.switch_from,
            quantities={line.round_item_id: keep},
        )
        changed.append(contract)
        if remaining > 0:
            changed.append(
                _backup_contract(
                    switch, hospital_id=contract.hospital_id, like=line, quantity=remaining
                )
            )
    return changed


def _backup_contract(
    switch: _Switch, *, hospital_id: int, like: ContractLine, quantity: int
) -> Contract:
    """Give ``quantity`` of an item to the backup in the hospital's contract with it: by
    an amendment of a confirmed contract, else in a draft (``_backup_draft``)."""
    line = ContractLine(
        round_item_id=like.round_item_id,
        opened_bid_id=switch.backup.opened_bid_id,
        region_id=like.region_id,
        quantity=quantity,
        unit_price=switch.price,
        amount=amount_of(quantity, switch.price),
        term_years=like.term_years,
        starts_on=switch.switch_from,
        ends_on=like.ends_on,
    )
    contract = (
        Contract.objects.select_for_update()
        .filter(
            round=switch.round_,
            hospital_id=hospital_id,
            manufacturer_id=switch.backup.manufacturer_id,
        )
        .first()
    )
    if contract is not None and contract.status == Contract.Status.CONFIRMED:
        current = {cl.round_item_id: cl for cl in contract_lines(contract)}
        if like.round_item_id in current:
            existing = current[like.round_item_id]
            contract_amend(
                contract=contract,
                by=switch.by,
                reason=switch.reason,
                effective_from=switch.switch_from,
                quantities={like.round_item_id: existing.quantity + quantity},
            )
        else:
            contract_amend(
                contract=contract,
                by=switch.by,
                reason=switch.reason,
                effective_from=switch.switch_from,
                quantities={},
                added=[line],
            )
        return contract
    return _backup_draft(switch, contract, hospital_id=hospital_id, line=line)


def _backup_draft(
    switch: _Switch, contract: Contract | None, *, hospital_id: int, line: ContractLine
) -> Contract:
    """The backup's contract with the hospital not confirmed yet (a new one when there is
    none): the draft itself changes, there is no signed original to keep. The hospital is
    asked to confirm it."""
    if contract is None:
        last = (
            Contract.objects.filter(round=switch.round_)
            .order_by("-number")
            .values_list("number", flat=True)
            .first()
        )
        serial = int(last.rsplit("HT", 1)[1]) + 1 if last else 1
        contract = Contract.objects.create(
            round=switch.round_,
            run=switch.run,
            number=f"{switch.round_.code}-HT{serial:06d}",
            hospital_id=hospital_id,
            manufacturer_id=switch.backup.manufacturer_id,
            starts_on=switch.switch_from,
            total=Decimal("0.00"),
        )
    existing_line = ContractLine.objects.filter(
        contract=contract, version=contract.current_version, round_item_id=line.round_item_id
    ).first()
    if existing_line is not None:
        existing_line.quantity += line.quantity
        existing_line.amount = amount_of(existing_line.quantity, existing_line.unit_price)
        existing_line.save(update_fields=["quantity", "amount"])
    else:
        line.contract = contract
        line.version = contract.current_version
        line.save()
    contract.total = sum((cl.amount for cl in contract_lines(contract)), Decimal("0.00"))
    contract.revision += 1
    contract.save(update_fields=["total", "revision"])
    notify(
        organizations=[hospital_id],
        kind=Notification.Kind.CONTRACT_TO_CONFIRM,
        subject=gettext_noop("Contract %(number)s to confirm"),
        body=gettext_noop("A backup supplier's contract %(number)s awaits your confirmation."),
        params={"number": contract.number},
        url=reverse("contracts:contract", args=[contract.pk]),
        dedupe_key=f"contract-to-confirm-backup:{contract.pk}:{contract.revision}",
    )
    return contract

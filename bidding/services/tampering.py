"""The procurement office's decision on a bid the opening judged tampered.

The opening never decides on its own that a tampered bid is in or out (docs/sealed-
bidding.md, "Procedure: the office decides on each tampered bid"): the office examines
the bidder's receipts and records, once, either that the opened version is the bid the
receipts prove (admitted: judged again on its merits, then evaluated like any other) or
that the bid is excluded (it stays tampered, out of the evaluation).
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import User
from bidding.models import OpenedBid, Opening, TamperDecision
from bidding.services.deadline import _lock_round
from procurement.models import Round

R = OpenedBid.Reason
# Reasons that judge a bid on its merits (everything else on a tampered bid is tampering).
MERIT_REASONS = (R.ABOVE_CEILING, R.INELIGIBLE_PRODUCT, R.NO_CAPACITY)
# Without an authenticated, receipt-checked content there is nothing to admit.
UNREADABLE_REASONS = (R.CIPHERTEXT_FAILED, R.RECEIPT_MISMATCH)


def tampered_bid_decide(
    *,
    opened: OpenedBid,
    decision: str,
    evidence: str,
    by: User,
    now: datetime.datetime | None = None,
) -> TamperDecision:
    """Record the office's final decision on one tampered bid (before the evaluation)."""
    now = now or timezone.now()
    evidence = (evidence or "").strip()
    if decision not in TamperDecision.Decision.values:
        raise ValidationError(_("Choose to admit or to exclude the bid."), code="decision")
    if not evidence:
        raise ValidationError(
            _("Describe the evidence examined (the bidder's receipts and their check)."),
            code="evidence",
        )
    with transaction.atomic():
        round_ = _lock_round(opened.round_item.round_id, exclusive=True)
        if by.organization_id != round_.office_id:
            raise ValidationError(
                _("Only the round's procurement office decides on tampered bids."),
                code="not_office",
            )
        locked = OpenedBid.objects.select_for_update().get(pk=opened.pk)
        existing = TamperDecision.objects.filter(opened_bid=locked).first()
        if existing is not None:
            raise ValidationError(
                _("This bid was already decided on %(when)s; the decision is final.")
                % {"when": date_format(timezone.localtime(existing.decided_at), "Y-m-d H:i")},
                code="already_decided",
            )
        if locked.validity != OpenedBid.Validity.TAMPERED:
            raise ValidationError(
                _("Only a bid judged tampered at the opening needs a decision."),
                code="not_tampered",
            )
        if round_.status != Round.Status.BIDS_OPENED:
            raise ValidationError(
                _(
                    "Decisions on tampered bids are recorded after the opening and before the "
                    "evaluation; round %(code)s is now %(status)s."
                )
                % {"code": round_.code, "status": round_.get_status_display()},
                code="wrong_status",
            )
        admit = decision == TamperDecision.Decision.ADMIT
        if admit and (
            locked.unit_price is None or any(r in UNREADABLE_REASONS for r in locked.reasons)
        ):
            raise ValidationError(
                _(
                    "This bid cannot be admitted: its content could not be decrypted and "
                    "checked against its receipt. Exclude it."
                ),
                code="unreadable",
            )
        record = TamperDecision.objects.create(
            opened_bid=locked,
            decision=decision,
            evidence=evidence,
            previous_validity=locked.validity,
            decided_by=by,
            decided_at=now,
        )
        if admit:
            merits = [r for r in locked.reasons if r in MERIT_REASONS]
            locked.validity = OpenedBid.Validity.INVALID if merits else OpenedBid.Validity.VALID
            locked.save(update_fields=["validity"])
            opening = Opening.objects.select_for_update().get(pk=locked.opening_id)
            opening.tampered_count -= 1
            opening.valid_count += locked.validity == OpenedBid.Validity.VALID
            opening.save(update_fields=["tampered_count", "valid_count"])
    return record

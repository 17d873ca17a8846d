"""What an amendment may change, and which changes are material: the one registry.

A change is *material* when it alters what a bidder prices: a bid sealed before it must be
re-confirmed by its bidder before it counts again (``tender.selectors``), and the
amendment must leave the rule set's ``amendment_notice_days`` before the bid deadline
(招标投标法 Art. 23, 实施条例 Art. 21: changes that affect the preparation of bids), moving
the deadline if it does not. What each change touches decides whose bids: one
specification's (a ceiling), or every item's (the contract start, a term of every
contract).

Not material: the reference price (shown for the price-cut figures, used by no award
rule), a later bid deadline (bids stay as they are, bidders get more time), the opening
time, the objection period.

Items cannot be added after publication (no demand could be declared for them any more),
and the pooled volumes are the hospitals' declarations, closed before publication: neither
is an amendment here (docs/procurement-document.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class ChangeKind(models.TextChoices):
    CEILING = "ceiling", _("Maximum valid bid price")
    REFERENCE_PRICE = "reference_price", _("Reference price")
    TIMETABLE = "timetable", _("Timetable")


class Scope(StrEnum):
    LINE = "line"  # one specification of one item
    ITEM = "item"  # one item
    ROUND = "round"  # every item of the round


@dataclass(frozen=True)
class ChangeRule:
    kind: str
    field: str  # the timetable field; "" for prices
    label: Promise
    material: bool
    scope: Scope


CHANGE_RULES: Mapping[tuple[str, str], ChangeRule] = {
    (rule.kind, rule.field): rule
    for rule in (
        ChangeRule(
            ChangeKind.CEILING, "", _("Maximum valid bid price"), material=True, scope=Scope.LINE
        ),
        ChangeRule(
            ChangeKind.REFERENCE_PRICE,
            "",
            _("Reference price"),
            material=False,
            scope=Scope.ITEM,
        ),
        ChangeRule(
            ChangeKind.TIMETABLE,
            "bid_deadline",
            _("Bid deadline"),
            material=False,
            scope=Scope.ROUND,
        ),
        ChangeRule(
            ChangeKind.TIMETABLE, "opening_at", _("Bid opening"), material=False, scope=Scope.ROUND
        ),
        ChangeRule(
            ChangeKind.TIMETABLE,
            "objection_ends_at",
            _("Objection period ends"),
            material=False,
            scope=Scope.ROUND,
        ),
        ChangeRule(
            ChangeKind.TIMETABLE,
            "contract_starts_on",
            _("Contract start"),
            material=True,
            scope=Scope.ROUND,
        ),
    )
}

# The timetable fields an office amends (the objection period moves only as a consequence;
# its own rules are the award's).
AMENDABLE_TIMETABLE_FIELDS: tuple[str, ...] = ("bid_deadline", "opening_at", "contract_starts_on")


def change_rule(kind: str, field: str = "") -> ChangeRule:
    return CHANGE_RULES[(kind, field)]

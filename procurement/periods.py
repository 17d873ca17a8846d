"""Statutory minimum periods of a round, as rule-set values (DESIGN.md §2.5).

A rule set carries, next to the optimiser's ``parameters``, the periods of the procedure
(``RuleSet.periods``): whole days, each named here once. A rule set that does not name a
period takes the default of its rule kind's family (``procurement.optimiser.kinds``), so
every kind has a value and a source; an office may set its own (0 switches a minimum off),
and like the parameters the periods are frozen with the rule set when bidding opens.

One registry, ``PERIODS``: every label, default, source, check and form is derived from it.
National volume-based procurement rounds follow their own procurement documents; the
general laws are the analogue where those were not found (DESIGN.md §2.5), so:

* ``bid_preparation_days``: at least 20 days from publishing the procurement document to
  the bid deadline (招标投标法 Art. 24 [law]: "自招标文件开始发出之日起至投标人提交投标文件
  截止之日止，最短不得少于二十日").
* ``amendment_notice_days``: a clarification or change that affects bid preparation must
  reach every holder of the documents at least 15 days before the deadline, or the
  deadline moves (招标投标法 Art. 23, 实施条例 Art. 21 [law]). Prozorro keeps 4 to 7 days
  after an edit; Chinese law is stricter, so 15.
* ``question_cutoff_days``: bidders' questions are accepted until 10 days before the
  deadline (实施条例 Art. 22 [law]: objections to the documents at least 10 days before
  the deadline, answered within 3 days), so every answer can still be published, and
  followed by an amendment, in time.
* ``min_bidders_per_item`` (a count, not days): general law tenders again with fewer than
  3 bidders (招标投标法 Art. 28 [law]); national volume-based procurement does not (a sole
  bidder entered 4+7's proposed list and went to price negotiation; batch 11 went ahead
  with fewer actual bids [press]), so drug rules default to none (0) and the others to 3.
  Items below it are evaluated as usual and flagged on the evaluation page.
* ``objection_days``: the proposed winners are published for objections (公示) for at least
  3 days from their publication (实施条例 Art. 54 [law]: "公示期不得少于3日"); objections
  are accepted until it ends and the award cannot be finalized before (``awards``). The
  office may extend a running period, never shorten it.

The law makes no difference between drugs and consumables, nor between the national drug
rule's variants: every family has the same periods today (the minimum number of bidders
differs, above); a family (or, through
``RuleSet.periods``, a single rule set) that needs others says so here.

Pure: no models are imported (a rule set is read through its two attributes).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from procurement.optimiser.kinds import Family, family_of

MAX_DAYS = 365


class HasPeriods(Protocol):
    kind: str
    periods: Any


@dataclass(frozen=True)
class Period:
    name: str
    label: Promise
    help: Promise
    source: Promise
    defaults: Mapping[Family, int]

    def default_for(self, kind: str) -> int:
        return self.defaults[family_of(kind)]


def _same_for_every_family(days: int) -> Mapping[Family, int]:
    return dict.fromkeys(Family, days)


PERIODS: Mapping[str, Period] = {
    period.name: period
    for period in (
        Period(
            name="bid_preparation_days",
            label=_("Days from publication of the procurement document to the bid deadline"),
            help=_(
                "The document is published when bidding opens; the bid deadline must be at "
                "least this many days later (checked when the round is created, whenever "
                "its timetable changes, and when bidding opens)."
            ),
            source=_("Tendering and Bidding Law, Art. 24 (at least 20 days)"),
            defaults=_same_for_every_family(20),
        ),
        Period(
            name="amendment_notice_days",
            label=_("Days an amendment must leave before the bid deadline"),
            help=_(
                "An amendment that changes what bidders price (ceilings, the contract start) "
                "published with fewer days left moves the bid deadline to this many days "
                "after its publication."
            ),
            source=_(
                "Tendering and Bidding Law, Art. 23; its Implementing Regulations, Art. 21 "
                "(at least 15 days)"
            ),
            defaults=_same_for_every_family(15),
        ),
        Period(
            name="question_cutoff_days",
            label=_("Questions accepted until this many days before the bid deadline"),
            help=_(
                "Manufacturers ask clarification questions until this many days before the "
                "bid deadline; answers are published to every bidder."
            ),
            source=_(
                "Implementing Regulations of the Tendering and Bidding Law, Art. 22 (objections "
                "to the documents at least 10 days before the deadline)"
            ),
            defaults=_same_for_every_family(10),
        ),
        Period(
            name="objection_days",
            label=_("Days of the objection period after the proposed winners are published"),
            help=_(
                "Starts when the office publishes the proposed winners; objections are "
                "accepted until it ends, and the award cannot be finalized before. The office "
                "may extend a running period, never shorten it."
            ),
            source=_(
                "Implementing Regulations of the Tendering and Bidding Law, Art. 54 (candidates "
                "published for at least 3 days)"
            ),
            defaults=_same_for_every_family(3),
        ),
        Period(
            name="min_bidders_per_item",
            label=_("Minimum number of bidders per item (0: no minimum)"),
            help=_(
                "An item with fewer bidders (companies that bid on it, valid or not) is still "
                "evaluated, but the evaluation page warns about it, item by item, so that the "
                "office decides (go ahead, negotiate the price or run the item again) "
                "knowingly. A count, not days."
            ),
            source=_(
                "Tendering and Bidding Law, Art. 28 (fewer than 3 bidders: tender again); "
                "national drug rounds set no minimum and award a sole bidder"
            ),
            defaults={Family.DRUG: 0, Family.CONSUMABLE: 3, Family.OPTIMISED: 3},
        ),
    )
}


def periods_errors(periods: Any) -> list[tuple[str, str]]:
    """Path-qualified problems of a ``periods`` document (``[]`` when usable)."""
    if not isinstance(periods, dict):
        return [("$", "must be a JSON object of whole numbers of days")]
    errors = []
    for name, value in periods.items():
        if name not in PERIODS:
            errors.append((f"$.{name}", f"unknown period; expected one of {', '.join(PERIODS)}"))
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
            errors.append(
                (
                    f"$.{name}",
                    f"must be a whole number of days from 0 to {MAX_DAYS}"
                    if name.endswith("_days")
                    else f"must be a whole number from 0 to {MAX_DAYS}",
                )
            )
    return errors


def period_days(rule_set: HasPeriods, name: str) -> int:
    """The rule set's value of period ``name``: its own, or its kind's default."""
    own = rule_set.periods or {}
    if name in own:
        return int(own[name])
    return PERIODS[name].default_for(rule_set.kind)


def period_length(rule_set: HasPeriods, name: str) -> datetime.timedelta:
    return datetime.timedelta(days=period_days(rule_set, name))


@dataclass(frozen=True)
class PeriodValue:
    period: Period
    days: int
    is_default: bool


def rule_set_period_values(rule_set: HasPeriods) -> list[PeriodValue]:
    """Every period of the rule set, in registry order, for pages and documents."""
    own = rule_set.periods or {}
    return [
        PeriodValue(period=p, days=period_days(rule_set, p.name), is_default=p.name not in own)
        for p in PERIODS.values()
    ]


def effective_periods(rule_set: HasPeriods) -> dict[str, int]:
    return {p.name: period_days(rule_set, p.name) for p in PERIODS.values()}

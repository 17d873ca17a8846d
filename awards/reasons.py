"""Bid-result reasons, solver statuses and allocation sources in the reader's language.

The optimiser explains every bid as reason parts, a stable code plus parameters
(``procurement/optimiser/reasons.py``), and ``awards.problem`` adds the platform's
own codes (an exclusion after an objection, a bid opened without a price). They are
stored on ``BidResult.reason_parts``; this module is the one place that turns them into
a sentence in the active language, with prices to 4 decimals and quantities grouped in
thousands as everywhere else on the award pages. A row written before the parts existed,
or a code this module does not know, shows the stored English ``reason`` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, Region
from awards.problem import NOT_EVALUATED
from awards.templatetags.award_format import price, qty
from bidding.models import OpenedBid
from procurement.optimiser import reasons as optimiser

if TYPE_CHECKING:
    from awards.models import BidResult


class SolverStatus(models.TextChoices):
    """``EvaluationRun.solver_status``: the optimiser result's ``run.status``."""

    OPTIMAL = "optimal", _("Optimal")
    FEASIBLE = "feasible", _("Feasible (stopped at the time limit)")
    INFEASIBLE = "infeasible", _("Infeasible: the constraints conflict")
    UNKNOWN = "unknown", _("Unknown: no solution within the time limit")
    RULE_ONLY = "rule_only", _("Decided by the rules alone")


# code -> message with named placeholders. Every code the optimiser can emit
# (optimiser.REASON_CODES) and every platform code (awards.problem) has one;
# tests/awards/test_reasons.py checks it.
MESSAGES: Mapping[str, Promise] = {
    # validity
    "not_eligible": _("not eligible"),
    "not_eligible_detail": _("not eligible: %(detail)s"),
    "above_specification_ceiling": _(
        "unit price %(price)s is above the maximum valid bid price %(ceiling)s of "
        "specification %(specification)s"
    ),
    "above_ceiling": _(
        "unit comparable price %(price)s is above the maximum valid bid price %(ceiling)s"
    ),
    # ranking
    "ranked_by_lower_bid": _("the manufacturer is ranked by its lower bid (%(price)s)"),
    "rank": _(
        "rank %(rank)s of %(valid_bids)s valid bids; at most %(cap)s winners for "
        "%(bidders)s bidders"
    ),
    # price conditions
    "ratio_to_lowest_within": _(
        "%(ratio)s times the lowest price %(lowest)s, within the limit of %(limit)s times"
    ),
    "ratio_to_lowest_above": _(
        "%(ratio)s times the lowest price %(lowest)s, above the limit of %(limit)s times"
    ),
    "unit_price_within": _("unit comparable price %(price)s is at most %(max_price)s"),
    "unit_price_above": _("unit comparable price %(price)s is above %(max_price)s"),
    "cut_from_ceiling_met": _(
        "%(cut)s%% below the maximum valid bid price %(ceiling)s, at least %(needed)s%% needed"
    ),
    "cut_from_ceiling_short": _(
        "only %(cut)s%% below the maximum valid bid price %(ceiling)s, %(needed)s%% needed"
    ),
    "ratio_to_anchor_within": _(
        "%(ratio)s times the anchor price %(anchor)s, within the limit of %(limit)s times"
    ),
    "ratio_to_anchor_above": _(
        "%(ratio)s times the anchor price %(anchor)s, above the limit of %(limit)s times"
    ),
    "adjusted_price_declined": _("the bid did not accept the adjusted price"),
    "won_at_adjusted_price_highest": _(
        "won at the adjusted price %(price)s (the highest winning price), as accepted in the bid"
    ),
    "won_at_adjusted_price_ratio": _(
        "won at the adjusted price %(price)s (%(limit)s times the lowest price), as "
        "accepted in the bid"
    ),
    # consumables groups
    "group_rank": _("group %(group)s: rank %(rank)s of %(members)s; at most %(cap)s winners"),
    "group_ratio_within": _(
        "%(ratio)s times the group's lowest price %(lowest)s, within the limit of %(limit)s times"
    ),
    "group_ratio_above": _(
        "%(ratio)s times the group's lowest price %(lowest)s, above the limit of %(limit)s times"
    ),
    # renewal
    "not_above_previous_highest": _(
        "%(price)s is not above the previous highest winning price %(previous)s"
    ),
    "above_previous_highest": _(
        "%(price)s is above the previous highest winning price %(previous)s"
    ),
    # optimised award
    "awaiting_optimiser": _("valid; awaiting the optimiser"),
    "optimiser_awarded": _(
        "awarded by the optimiser: %(units)s units in %(regions)s province(s) at %(price)s"
    ),
    "optimiser_no_award": _("no award: the optimised scenario's result is “%(status)s”"),
    "optimiser_not_chosen": _(
        "not chosen by the optimiser: a cheaper award meets every constraint"
    ),
    "optimiser_item_left_unmet": _(
        "not chosen by the optimiser: no bid of the item is awarded; its %(units)s agreed "
        "units are left unmet at the penalty %(penalty)s per unit, which costs less than "
        "any award meeting every constraint"
    ),
    # the platform's own reasons (awards.problem)
    "excluded_by_objection": _("excluded after an upheld objection"),
    "failed_integrity_check": _("failed the integrity check at the bid opening"),
    "product_not_eligible": _("the product is not eligible"),
    "bidder_not_qualified": _(
        "the bidder or the product was not qualified at the bid deadline (qualification "
        "documents not approved or expired)"
    ),
    NOT_EVALUATED: _("not evaluated: %(reasons)s"),
}

# "tied" names the other bids by their keys in the optimiser's output; a reader of the
# web pages is told how many there are (a plural message), not the keys.
TIED = "tied"

TIE_BREAK_LABELS: Mapping[str, Promise] = {
    "tie_break_rank": _("the published tie-break order"),
    "capacity_desc": _("larger supply capacity first"),
    "bid_id": _("bid number"),
}

ALLOCATION_SOURCE_LABELS: Mapping[str, Promise] = {
    optimiser.SOURCE_PREFERENCE: _("winner's preference"),
    optimiser.SOURCE_PLATFORM_ASSIGNMENT: _("platform assignment (minimum cost)"),
    optimiser.SOURCE_INTENDED_VOLUME: _("hospital's intended volume"),
    optimiser.SOURCE_HOSPITAL_CHOICE: _("hospital's choice for a losing product"),
    optimiser.SOURCE_MINIMUM_COST_DEFAULT: _("minimum-cost default"),
    optimiser.SOURCE_OPTIMISED_AWARD: _("optimised award"),
}

# Parameters holding a price per smallest unit (shown to 4 decimals, grouped).
PRICE_PARAMS = frozenset(
    {"price", "ceiling", "lowest", "anchor", "max_price", "previous", "penalty"}
)


def _list(values: Iterable[str]) -> str:
    return pgettext("list separator", ", ").join(values)


def solver_status_label(status: str) -> str:
    """The label of a solver status; an unknown value is shown as it is."""
    if status in SolverStatus.values:
        return str(SolverStatus(status).label)
    return status


def allocation_source_label(source: str) -> str:
    label = ALLOCATION_SOURCE_LABELS.get(source)
    return source if label is None else str(label)


def _opening_reasons(params: Mapping[str, Any]) -> str:
    labels = [
        str(OpenedBid.Reason(r).label) if r in OpenedBid.Reason.values else str(r)
        for r in params.get("reasons") or []
    ]
    if labels:
        return _list(labels)
    validity = str(params.get("validity", ""))
    if validity in OpenedBid.Validity.values:
        return str(OpenedBid.Validity(validity).label)
    return validity


_FORMATTERS: Mapping[str, Callable[[Any], str]] = {
    **dict.fromkeys(PRICE_PARAMS, price),
    "units": qty,
    "status": solver_status_label,
    "order": lambda order: _list(str(TIE_BREAK_LABELS.get(c, c)) for c in order),
}


def _values(code: str, params: Mapping[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in params.items():
        formatter = _FORMATTERS.get(name)
        if formatter is not None:
            values[name] = formatter(value)
        elif isinstance(value, list | tuple):
            values[name] = _list(str(v) for v in value)
        elif isinstance(value, int):
            values[name] = qty(value)
        else:
            values[name] = str(value)
    if code == NOT_EVALUATED:
        values["reasons"] = _opening_reasons(params)
    return values


def _clause(code: str, params: Mapping[str, Any]) -> str | None:
    """One part in the active language, or None when the code or a parameter is unknown."""
    try:
        values = _values(code, params)
        if code == TIED:
            others = len(params["bids"])
            return ngettext(
                "tied at %(price)s with %(count)s other bid; ties ordered by %(order)s",
                "tied at %(price)s with %(count)s other bids; ties ordered by %(order)s",
                others,
            ) % {**values, "count": others}
        if code == "rank":
            # Three counts, each with its own noun: "rank 1 of 1 valid bid; at most 1
            # winner for 1 bidder".
            first, second = (
                ngettext(
                    "rank %(rank)s of %(valid_bids)s valid bid",
                    "rank %(rank)s of %(valid_bids)s valid bids",
                    int(params["valid_bids"]),
                )
                % values,
                ngettext(
                    "at most %(cap)s winner for %(bidders)s bidders",
                    "at most %(cap)s winners for %(bidders)s bidders",
                    int(params["cap"]),
                )
                % values
                if int(params["bidders"]) != 1
                else ngettext(
                    "at most %(cap)s winner for %(bidders)s bidder",
                    "at most %(cap)s winners for %(bidders)s bidder",
                    int(params["cap"]),
                )
                % values,
            )
            return gettext("%(first)s; %(second)s") % {"first": first, "second": second}
        message = MESSAGES.get(code)
        if message is None:
            return None
        return str(message) % values
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return None


def render_reason(parts: Iterable[Mapping[str, Any]] | None, fallback: str = "") -> str:
    """The reason parts as one sentence in the active language; ``fallback`` (the stored
    English text) when there are no parts or any part cannot be rendered."""
    text = ""
    for part in parts or ():
        if not isinstance(part, Mapping):
            return fallback
        code = str(part.get("code", ""))
        clause = _clause(code, part.get("params") or {})
        if clause is None:
            return fallback
        if code in optimiser.PARENTHETICAL:
            text += pgettext("reason aside", " (%(aside)s)") % {"aside": clause}
        elif text:
            text += pgettext("reason clauses", "; ") + clause
        else:
            text = clause
    return text or fallback


def bid_result_reason(result: BidResult) -> str:
    """A stored bid result's reason in the active language."""
    return render_reason(result.reason_parts, result.reason)


def reason_codes() -> frozenset[str]:
    """Every code this module renders."""
    return frozenset({*MESSAGES, TIED})


# Run messages (``optimiser.MESSAGE_CODES``): a run's warnings, why an optimised award has
# no solution, and the constraints the comparison table relaxes. Every code has a message;
# tests/awards/test_reasons.py checks it.
RUN_MESSAGES: Mapping[str, Promise] = {
    "capacity_shortfall": _(
        "item %(item)s: bid %(bid)s is assigned %(excess)s units more than its declared "
        "capacity of %(capacity)s (capacity shortfall)"
    ),
    "min_winners_for_item": _("at least %(count)s winners for item %(item)s"),
    "max_winners_for_item": _("at most %(count)s winners for item %(item)s"),
    "min_split_share_for_item": _(
        "each supplier of a province of item %(item)s takes at least %(share)s of it"
    ),
    "supply_region": _("supply all %(units)s agreed units of item %(item)s in province %(region)s"),
    "supply_region_single_source": _(
        "supply all %(units)s agreed units of item %(item)s in province %(region)s from one "
        "supplier"
    ),
    "supply_region_or_unmet": _(
        "supply the %(units)s agreed units of item %(item)s in province %(region)s or leave "
        "them unmet"
    ),
    "supply_region_single_source_or_unmet": _(
        "supply the %(units)s agreed units of item %(item)s in province %(region)s from one "
        "supplier or leave them unmet"
    ),
    "max_price_ratio_for_item": _(
        "the winners of item %(item)s within %(ratio)s times its lowest winning price"
    ),
    "min_national_share_for_item": _(
        "each winner of item %(item)s supplies at least %(share)s of its %(total)s agreed "
        "units (%(units)s units)"
    ),
    "unmet_demand": _(
        "item %(item)s: %(units)s agreed units in %(regions)s province(s) left unmet at the "
        "penalty %(penalty)s per unit"
    ),
    "backend_cp_sat_small": _(
        "CP-SAT: %(variables)s variables (fewer than %(threshold)s); CP-SAT proved small "
        "models fastest"
    ),
    "backend_highs_large": _(
        "HiGHS: %(variables)s variables (at least %(threshold)s); HiGHS proved large models fastest"
    ),
    "backend_decomposed_national": _(
        "decomposition: %(variables)s variables (at least %(threshold)s), the national shape "
        "over %(items)s items linked by capacity: a Lagrangian bound over per-item models, "
        "then HiGHS on the model of the winners they chose"
    ),
    "bid_capacity": _("capacity of bid %(bid)s (%(units)s units)"),
    "supplier_capacity": _("capacity of supplier %(supplier)s across items (%(units)s units)"),
    "supplier_share": _("supplier %(supplier)s at most %(share)s of all %(units)s units"),
    "no_solution_within_time": _("no solution found within %(seconds)s s for item(s) %(items)s"),
    "relax_min_winners": _("at least %(count)s winners per item"),
    "relax_max_winners": _("at most %(count)s winners per item"),
    "relax_supplier_share": _("a supplier's share at most %(share)s"),
    "relax_single_source": _("one supplier per province"),
    "relax_min_split_share": _("a minimum share of %(share)s for each supplier of a province"),
    "relax_supplier_capacity": _("supplier capacity across items"),
    "relax_bid_capacity": _("bid capacity"),
    "relax_item_min_winners": _("the items' own minimum numbers of winners"),
    "relax_item_max_winners": _("the items' own maximum numbers of winners"),
    "relax_price_ratio": _("winners within %(ratio)s times the item's lowest winning price"),
    "relax_min_national_share": _("each winner at least %(share)s of the item's volume"),
    "relaxed_to_count": pgettext_lazy("constraint relaxed to a number", "%(count)s"),
    "relaxed_no_maximum": _("no maximum"),
    "relaxed_no_minimum": _("no minimum"),
    "relaxed_split_allowed": _("split allowed"),
    "relaxed_unlimited": _("unlimited"),
}


def _share(value: Any) -> str:
    """A fraction of volume (``0.3``) as a percentage (``30%``)."""
    try:
        percent = Decimal(str(value)) * 100
    except ArithmeticError:
        return str(value)
    text = format(percent.normalize(), "f") if percent == percent.to_integral() else str(percent)
    return pgettext("percentage", "%(number)s%%") % {"number": text}


def render_message(record: Any, names: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """A stored run message in the active language.

    ``record`` is ``{"code", "params", "text"}`` (``optimiser.message_record``) or, for a
    run stored before the codes existed, the English text itself; an unknown code or a
    parameter the message cannot use shows the stored English ``text``. ``names`` maps a
    parameter (``supplier``, ``bid``, ``region``) to the names of its keys
    (:func:`message_key_names`).
    """
    if not isinstance(record, Mapping):
        return "" if record is None else str(record)
    fallback = str(record.get("text", ""))
    message = RUN_MESSAGES.get(str(record.get("code", "")))
    params = record.get("params")
    if message is None or not isinstance(params, Mapping):
        return fallback
    values: dict[str, str] = {}
    for name, value in params.items():
        known = (names or {}).get(name, {})
        if isinstance(value, str) and value in known:
            values[name] = known[value]
        elif name == "share":
            values[name] = _share(value)
        elif isinstance(value, list | tuple):
            values[name] = _list(str(v) for v in value)
        elif isinstance(value, int):
            values[name] = qty(value)
        else:
            values[name] = str(value)
    try:
        return str(message) % values
    except (KeyError, TypeError, ValueError):
        return fallback


def message_key_names(records: Iterable[Any]) -> dict[str, dict[str, str]]:
    """The names behind the optimiser's keys in run messages, in the active language:
    a supplier ``M3`` is its manufacturer, a bid ``B12`` its manufacturer with the key
    (a manufacturer may bid several products), a region code its province. Three queries
    at most, whatever the number of messages."""
    wanted: dict[str, set[str]] = {"supplier": set(), "bid": set(), "region": set()}
    for record in records:
        params = record.get("params") if isinstance(record, Mapping) else None
        if isinstance(params, Mapping):
            for name, keys in wanted.items():
                value = params.get(name)
                if isinstance(value, str):
                    keys.add(value)

    def ids(keys: set[str], prefix: str) -> dict[int, str]:
        return {int(k[1:]): k for k in keys if k.startswith(prefix) and k[1:].isdigit()}

    names: dict[str, dict[str, str]] = {name: {} for name in wanted}
    suppliers = ids(wanted["supplier"], "M")
    if suppliers:
        for organization in Organization.objects.filter(pk__in=suppliers):
            names["supplier"][suppliers[organization.pk]] = organization.display_name
    bids = ids(wanted["bid"], "B")
    if bids:
        for opened in OpenedBid.objects.filter(pk__in=bids).select_related("manufacturer"):
            key = bids[opened.pk]
            names["bid"][key] = pgettext("bid of a manufacturer", "%(manufacturer)s (%(key)s)") % {
                "manufacturer": opened.manufacturer.display_name,
                "key": key,
            }
    if wanted["region"]:
        for region in Region.objects.filter(code__in=wanted["region"]):
            names["region"][region.code] = region.name
    return names


def render_messages(records: Any) -> list[str]:
    """A run's stored messages (warnings or explanation) in the active language, with
    manufacturers and provinces by name."""
    if not isinstance(records, list | tuple):
        return []
    names = message_key_names(records)
    return [render_message(record, names) for record in records]


def render_message_part(part: Any, text: Any = "") -> str:
    """A run message from a comparison row: its ``{"code", "params"}`` and English text."""
    if not isinstance(part, Mapping):
        return "" if text is None else str(text)
    return render_message({**part, "text": "" if text is None else str(text)})

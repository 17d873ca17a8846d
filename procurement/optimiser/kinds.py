"""The one registry of rule kinds: everything that differs between kinds is looked up here.

A rule set is a ``kind`` plus its ``parameters``. Each kind is one ``Kind`` entry below:
the name stored in ``RuleSet.kind`` and in problem documents, its label, the rounds it
applies to, its family, its rule layer (``decide``, per item), its allocation
(``allocate``, per problem), whether hospitals choose winners for lost volume, its
parameters' schema and checks, and the item fields it needs. Every list of kinds, model
choice, dispatch and label in the project is derived from ``RULE_KINDS``; a test
(``tests/test_rule_kind_names.py``) fails if code elsewhere spells a kind's name.

Adding a kind: its decide function (``rules.py``), an allocator if none fits
(``allocation.py``), its parameter schema (``parameters.py``), one entry here, and the
Chinese translation of its label (``scripts/i18n.py update``, then ``locale/``). Ready-made
rule sets of the kind may be added to ``presets.py``.

Pure: no Django. The label is the English message id, marked for extraction with
``gettext_noop`` below; ``procurement/rule_labels.py`` translates it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from procurement.optimiser.allocation import (
    Allocator,
    allocate_by_brand_choice,
    allocate_by_province,
)
from procurement.optimiser.optimised import allocate_optimised_award
from procurement.optimiser.parameters import (
    CONSUMABLES_GROUPS_SCHEMA,
    NATIONAL_DRUG_ANCHOR_SCHEMA,
    NATIONAL_DRUG_BATCH10_SCHEMA,
    NATIONAL_DRUG_SCHEMA,
    OPTIMISED_AWARD_SCHEMA,
    RENEWAL_SCHEMA,
    ParameterErrors,
    no_errors,
    optimised_award_errors,
)
from procurement.optimiser.rules import (
    ItemDecider,
    decide_consumables_item,
    decide_national_drug_anchor_item,
    decide_national_drug_batch10_item,
    decide_national_drug_item,
    decide_renewal_item,
    valid_bids_for_optimisation,
)


class RoundKind(StrEnum):
    """The kinds of procurement round (the values of ``procurement.models.Round.Kind``)."""

    DRUGS = "drugs"
    CONSUMABLES = "consumables"


class Family(StrEnum):
    """How a kind awards: the national drug rule and its variants (province allocation),
    consumables (hospitals keep their intended volume), or one optimisation over all items."""

    DRUG = "drug"
    CONSUMABLE = "consumable"
    OPTIMISED = "optimised"


def gettext_noop(message: str) -> str:
    """Mark an English message id for ``makemessages`` (which looks for this name) without
    translating it here: the optimiser has no Django; ``procurement.rule_labels``
    translates the label in the reader's language."""
    return message


@dataclass(frozen=True)
class Kind:
    name: str  # stored in RuleSet.kind (at most 32 characters) and in problem documents
    label: str  # English message id, translated by procurement.rule_labels
    family: Family
    round_kinds: frozenset[RoundKind]  # the rounds whose rule set may be of this kind
    decide: ItemDecider  # the rule layer, item by item
    allocate: Allocator  # who supplies which region and hospital, for all items
    takes_choices: bool  # hospitals choose winners for lost volume (reassign_to)
    parameters_schema: dict[str, Any]  # JSON Schema of the rule set's parameters
    check_parameters: Callable[[Mapping[str, Any]], ParameterErrors] = no_errors
    item_requires: tuple[str, ...] = ()  # item fields a problem document must give


_DRUGS = frozenset({RoundKind.DRUGS})
_CONSUMABLES = frozenset({RoundKind.CONSUMABLES})

NATIONAL_DRUG = Kind(
    name="national_drug",
    label=gettext_noop("National drug rule (batches 2 to 9)"),
    family=Family.DRUG,
    round_kinds=_DRUGS,
    decide=decide_national_drug_item,
    allocate=allocate_by_province,
    takes_choices=False,
    parameters_schema=NATIONAL_DRUG_SCHEMA,
)

NATIONAL_DRUG_BATCH10 = Kind(
    name="national_drug_batch10",
    label=gettext_noop("National drug rule, batch 10"),
    family=Family.DRUG,
    round_kinds=_DRUGS,
    decide=decide_national_drug_batch10_item,
    allocate=allocate_by_province,
    takes_choices=False,
    parameters_schema=NATIONAL_DRUG_BATCH10_SCHEMA,
)

NATIONAL_DRUG_ANCHOR = Kind(
    name="national_drug_anchor",
    label=gettext_noop("National drug rule with anchor price (batch 11)"),
    family=Family.DRUG,
    round_kinds=_DRUGS,
    decide=decide_national_drug_anchor_item,
    allocate=allocate_by_province,
    takes_choices=False,
    parameters_schema=NATIONAL_DRUG_ANCHOR_SCHEMA,
)

CONSUMABLES_GROUPS = Kind(
    name="consumables_groups",
    label=gettext_noop("Consumables in groups A and B"),
    family=Family.CONSUMABLE,
    round_kinds=_CONSUMABLES,
    decide=decide_consumables_item,
    allocate=allocate_by_brand_choice,
    takes_choices=True,
    parameters_schema=CONSUMABLES_GROUPS_SCHEMA,
)

RENEWAL = Kind(
    name="renewal",
    label=gettext_noop("Renewal at the previous highest winning price"),
    family=Family.CONSUMABLE,
    round_kinds=_CONSUMABLES,
    decide=decide_renewal_item,
    allocate=allocate_by_brand_choice,
    takes_choices=True,
    parameters_schema=RENEWAL_SCHEMA,
    item_requires=("previous_highest_winning_price",),
)

OPTIMISED_AWARD = Kind(
    name="optimised_award",
    label=gettext_noop("Optimised award (scenario analysis)"),
    family=Family.OPTIMISED,
    round_kinds=frozenset(RoundKind),
    decide=valid_bids_for_optimisation,
    allocate=allocate_optimised_award,
    # The optimised award allocates all volume by its own model.
    takes_choices=False,
    parameters_schema=OPTIMISED_AWARD_SCHEMA,
    check_parameters=optimised_award_errors,
)

# The order is the order of every list derived from it (choices, error messages).
RULE_KINDS: Mapping[str, Kind] = MappingProxyType(
    {
        kind.name: kind
        for kind in (
            NATIONAL_DRUG,
            NATIONAL_DRUG_BATCH10,
            NATIONAL_DRUG_ANCHOR,
            CONSUMABLES_GROUPS,
            RENEWAL,
            OPTIMISED_AWARD,
        )
    }
)

KIND_NAMES: tuple[str, ...] = tuple(RULE_KINDS)


def rule_kind(name: str) -> Kind:
    """The registry entry of a kind; ``ValueError`` for a name that is not one."""
    try:
        return RULE_KINDS[name]
    except KeyError:
        raise ValueError(f"unknown rule kind {name!r}") from None


def family_of(name: str) -> Family:
    return rule_kind(name).family


def kinds_of_family(family: Family | str) -> tuple[str, ...]:
    wanted = Family(family)
    return tuple(k.name for k in RULE_KINDS.values() if k.family == wanted)


def kinds_for_round_kind(round_kind: str) -> tuple[str, ...]:
    """The kinds a rule set of a round of ``round_kind`` (``Round.Kind``) may have."""
    wanted = RoundKind(round_kind)
    return tuple(k.name for k in RULE_KINDS.values() if wanted in k.round_kinds)


def kinds_taking_choices() -> tuple[str, ...]:
    """The kinds whose allocation keeps winners' intended volume and moves the lost volume
    by the hospitals' choices (lost-volume reassignment)."""
    return tuple(k.name for k in RULE_KINDS.values() if k.takes_choices)

"""Labels of rule kinds and of the ready-made rule sets, in the reader's language.

``RuleSet.kind`` stores the optimiser's kind (``procurement.optimiser.kinds.RULE_KINDS``)
and a preset's ``name`` is its stable slug (``national-drug-batch-4``): both are data the
optimiser and the API read, so they stay as they are and are labelled here for display.
A kind's label is the English message id its registry entry holds (extracted from
``kinds.py`` by ``makemessages``); it is translated here.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from procurement.optimiser.kinds import RULE_KINDS

# The kinds as Django choices (``RuleKind.values``, ``.choices``, ``RuleKind(kind).label``),
# one member per registry entry: NATIONAL_DRUG = "national_drug", "National drug rule ...".
# Built with Enum's functional form, which the type stubs do not describe.
RuleKind: type[models.TextChoices] = models.TextChoices(  # type: ignore[call-overload]
    "RuleKind",
    [(kind.name.upper(), (kind.name, _(kind.label))) for kind in RULE_KINDS.values()],
    module=__name__,
)


def rule_kind_choices() -> list[tuple[str, str]]:
    """``RuleSet.kind``'s choices. A callable, so a new kind needs no migration."""
    return RuleKind.choices


PRESET_TITLES: Mapping[str, Promise] = {
    "national-drug-batch-2": _("National drug procurement, batch 2"),
    "national-drug-batch-4": _("National drug procurement, batch 4"),
    "national-drug-batch-7-antimicrobial": _("National drug procurement, batch 7 (antimicrobials)"),
    "national-drug-batch-10": _("National drug procurement, batch 10"),
    "national-drug-batch-11": _("National drug procurement, batch 11"),
    "consumables-joints": _("Joint prostheses (consumables)"),
    "stent-renewal": _("Coronary stent renewal"),
    "optimised-award": _("Optimised award"),
}


# The ready-made rule sets' sources as stored (``presets.Preset.source``, English data
# copied into ``RuleSet.source``), shown in the reader's language. An earlier wording of
# batch 2's source (with a reference to the design notes) maps to the same message.
PRESET_SOURCES: Mapping[str, Promise] = {
    "batch 2 procurement document, table 2 (最多入围企业数)": _(
        "Batch 2 procurement document, table 2 (maximum number of winners)"
    ),
    "batch 2 procurement document, table 2 (最多入围企业数); DESIGN.md §2.1": _(
        "Batch 2 procurement document, table 2 (maximum number of winners)"
    ),
    "batch 4 document, table 1; the same table is used by batch 9": _(
        "Batch 4 procurement document, table 1; batch 9 uses the same table"
    ),
    "batch 7 listed antibiotics and antifungals: 30/40/50% of demand": _(
        "Batch 7: listed antibiotics and antifungals, 30, 40 or 50 per cent of demand"
    ),
    "batch 10 announcement (no 50% condition; adjusted price for 1.8x failures)": _(
        "Batch 10 announcement (no 50 per cent cut condition; adjusted price for bids "
        "failing the 1.8x rule)"
    ),
    "batch 11: anchor = max(50% of the shortlisted average, lowest), 1.8x breaker": _(
        "Batch 11: anchor price = the higher of half the shortlisted average and the "
        "lowest bid; bids above 1.8 times the anchor fail"
    ),
    "national joints round: group A holds the intended volume's first 80%": _(
        "National joints round: group A takes the first 80 per cent of the intended volume"
    ),
    "2022 coronary stent renewal: a quote not above the previous highest wins": _(
        "2022 coronary stent renewal: a quote not above the previous highest winning price wins"
    ),
    "scenario analysis: minimum cost with supply-security constraints": _(
        "Scenario analysis: minimum cost under supply-security constraints"
    ),
}


def rule_set_source(source: str) -> str:
    """A rule set's source in the reader's language: a ready-made rule set's translated, an
    office's own as the office wrote it."""
    message = PRESET_SOURCES.get(source)
    return source if message is None else str(message)


def rule_kind_label(kind: str) -> str:
    """The label of a rule kind; an unknown kind is shown as it is."""
    return str(RuleKind(kind).label) if kind in RuleKind.values else kind


def rule_set_title(name: str) -> str:
    """A ready-made rule set's title, or the name an office gave its own rule set."""
    title = PRESET_TITLES.get(name)
    return name if title is None else str(title)


def rule_set_description(name: str, description: str) -> str:
    """A rule set's description; a ready-made one's default ("<slug> (<version>)") shown
    with the rule set's title instead of its slug."""
    if name in PRESET_TITLES and description.startswith(f"{name} ("):
        return f"{rule_set_title(name)}{description[len(name) :]}"
    return description

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


def rule_kind_label(kind: str) -> str:
    """The label of a rule kind; an unknown kind is shown as it is."""
    return str(RuleKind(kind).label) if kind in RuleKind.values else kind


def rule_set_title(name: str) -> str:
    """A ready-made rule set's title, or the name an office gave its own rule set."""
    title = PRESET_TITLES.get(name)
    return name if title is None else str(title)

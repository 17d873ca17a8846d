"""Labels of rule kinds and of the ready-made rule sets, in the reader's language.

``RuleSet.kind`` stores the optimiser's kind (``procurement.optimiser.presets.KINDS``)
and a preset's ``name`` is its stable slug (``national-drug-batch-4``): both are data the
optimiser and the API read, so they stay as they are and are labelled here for display.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class RuleKind(models.TextChoices):
    NATIONAL_DRUG = "national_drug", _("National drug rule (batches 2 to 9)")
    NATIONAL_DRUG_BATCH10 = "national_drug_batch10", _("National drug rule, batch 10")
    NATIONAL_DRUG_ANCHOR = (
        "national_drug_anchor",
        _("National drug rule with anchor price (batch 11)"),
    )
    CONSUMABLES_GROUPS = "consumables_groups", _("Consumables in groups A and B")
    RENEWAL = "renewal", _("Renewal at the previous highest winning price")
    OPTIMISED_AWARD = "optimised_award", _("Optimised award (scenario analysis)")


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

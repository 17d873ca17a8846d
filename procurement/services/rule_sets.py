"""Rule sets: the ready-made presets, revisions (a frozen version is never changed), and
which rule kinds apply to which kind of round."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from procurement.models import Round, RuleSet
from procurement.optimiser.kinds import kinds_for_round_kind
from procurement.optimiser.presets import PRESETS, validate_rule_set
from procurement.periods import periods_errors
from procurement.rule_labels import rule_kind_label


def _rule_set_errors(
    kind: str, parameters: dict[str, object], periods: dict[str, object] | None = None
) -> None:
    errors = validate_rule_set(kind, parameters)
    if periods is not None:
        errors += [(f"periods {path}", message) for path, message in periods_errors(periods)]
    if errors:
        raise ValidationError(
            [
                _("Rule set parameter %(path)s: %(message)s") % {"path": p, "message": m}
                for p, m in errors
            ]
        )


def rule_set_require_fits(*, round_kind: str, rule_set: RuleSet) -> None:
    """Refuse a rule set whose kind does not apply to this kind of round."""
    if rule_set.kind not in kinds_for_round_kind(round_kind):
        raise ValidationError(
            _("Rule set %(rule_set)s (%(kind)s) does not apply to a %(round_kind)s round.")
            % {
                "rule_set": str(rule_set),
                "kind": rule_kind_label(rule_set.kind),
                "round_kind": Round.Kind(round_kind).label,
            }
        )


def rule_set_load_presets() -> int:
    """Create the ready-made rule sets (version 1 of each preset) if missing. Idempotent."""
    created = 0
    for preset in PRESETS.values():
        _, was_created = RuleSet.objects.get_or_create(
            name=preset.name,
            version=1,
            defaults={
                "kind": preset.kind,
                "parameters": preset.copy_parameters(),
                "description": f"{preset.name} ({preset.version})",
                "source": preset.source,
            },
        )
        created += int(was_created)
    return created


@transaction.atomic
def rule_set_revise(
    *,
    rule_set: RuleSet,
    parameters: dict[str, object],
    description: str = "",
    periods: dict[str, object] | None = None,
) -> RuleSet:
    """Change a rule set's parameters (and its minimum periods, ``procurement.periods``;
    ``None`` keeps them).

    A frozen version (used by a round that has opened bidding) is never changed: the edit
    becomes a new version, and rounds already bidding keep the version they froze.
    """
    _rule_set_errors(rule_set.kind, parameters, periods)
    locked = RuleSet.objects.select_for_update().get(pk=rule_set.pk)
    periods = locked.periods if periods is None else periods
    if not locked.is_frozen:
        locked.parameters = parameters
        locked.periods = periods
        if description:
            locked.description = description
        locked.save(update_fields=["parameters", "periods", "description"])
        return locked
    latest = RuleSet.objects.filter(name=locked.name).aggregate(v=Max("version"))["v"] or 0
    return RuleSet.objects.create(
        name=locked.name,
        version=latest + 1,
        kind=locked.kind,
        parameters=parameters,
        periods=periods,
        description=description or locked.description,
        source=locked.source,
    )

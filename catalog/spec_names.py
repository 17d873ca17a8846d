"""English renderings of specification labels and dosage units (pure; no database).

A specification's registered label is Chinese ("5mg×28片", "2ml:15mg"); its English name
is rendered deterministically from the structured fields: strength, fill volume and pack
count, with the item's unit of count translated by a small table of the dosage units the
catalog uses ("5 mg × 28 tablets", "15 mg/2 ml"). A specification without strength (a
consumable's bidding unit) takes its item's English name.
"""

from __future__ import annotations

from decimal import Decimal

# Chinese dosage / counting unit -> (English singular, English plural).
UNITS: dict[str, tuple[str, str]] = {
    "片": ("tablet", "tablets"),
    "粒": ("capsule", "capsules"),
    "丸": ("pill", "pills"),
    "袋": ("sachet", "sachets"),
    "包": ("sachet", "sachets"),
    "支": ("ampoule", "ampoules"),
    "瓶": ("vial", "vials"),
    "盒": ("box", "boxes"),
    "贴": ("patch", "patches"),
    "枚": ("piece", "pieces"),
    "个": ("piece", "pieces"),
    "套": ("set", "sets"),
    "副": ("set", "sets"),
    "根": ("piece", "pieces"),
    "喷": ("spray", "sprays"),
    "揿": ("puff", "puffs"),
    "毫升": ("ml", "ml"),
    "ml": ("ml", "ml"),
    "mg": ("mg", "mg"),
}

# English singular -> plural, for units given in English already ("tablet", "lens").
_PLURALS = {singular: plural for singular, plural in UNITS.values()}
_PLURALS.update({"lens": "lenses", "ampoule": "ampoules", "piece": "pieces"})


def english_unit(unit: str, count: int = 1) -> str:
    """The English name of a unit (Chinese or English singular), plural when count != 1.

    An unknown unit comes back as it is (never guessed)."""
    unit = unit.strip()
    if unit in UNITS:
        singular, plural = UNITS[unit]
    else:
        singular, plural = unit, _PLURALS.get(unit, unit)
    return singular if count == 1 else plural


def number(value: Decimal | int) -> str:
    """A strength or volume without trailing zeros: 10.0000 -> "10", 0.2500 -> "0.25"."""
    text = format(Decimal(value).normalize(), "f")
    return text


def english_label(
    *,
    strength_value: Decimal | None,
    strength_unit: str,
    fill_volume_ml: Decimal | None,
    pack_count: int,
    unit: str,
    fallback: str = "",
) -> str:
    """The English specification name from its structured fields.

    >>> english_label(strength_value=Decimal(5), strength_unit="mg", fill_volume_ml=None,
    ...               pack_count=28, unit="片")
    '5 mg × 28 tablets'
    >>> english_label(strength_value=Decimal(15), strength_unit="mg",
    ...               fill_volume_ml=Decimal(2), pack_count=1, unit="支")
    '15 mg/2 ml'
    """
    if strength_value is None:
        return fallback
    strength = f"{number(strength_value)} {english_unit(strength_unit or 'mg')}"
    if fill_volume_ml is not None:
        strength = f"{strength}/{number(fill_volume_ml)} ml"
    if pack_count > 1:
        return f"{strength} × {pack_count} {english_unit(unit, pack_count)}"
    return strength

"""Unified social credit code (统一社会信用代码) check, per GB 32100-2015.

Pure Python, no Django. An 18-character code: registration authority (1), organization
type (1), administrative division (6 digits), organization code (9), check character (1).
The check character is computed from the first 17 with weights 3^i mod 31 over the
31-character alphabet below (no I, O, S, V, Z).
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


class USCCError(ValueError):
    """The code is not a valid unified social credit code; the message says why.

    ``reason`` names the rule broken (length, character, division, check) and ``params``
    holds the figures, so a caller can show the message in the user's language.
    """

    def __init__(self, reason: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.reason = reason
        self.params = params


def check_character(first17: str) -> str:
    """The check character for the first 17 characters of a code."""
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate_uscc(code: str) -> str:
    """Return the normalised (upper-case, stripped) code, or raise USCCError."""
    normalised = code.strip().upper()
    if len(normalised) != 18:
        raise USCCError(
            "length", f"must be 18 characters, got {len(normalised)}", length=len(normalised)
        )
    for position, ch in enumerate(normalised, start=1):
        if ch not in ALPHABET:
            raise USCCError(
                "character",
                f"character {position} '{ch}' is not allowed (I, O, S, V, Z never occur)",
                position=position,
                character=ch,
            )
    if not normalised[2:8].isdigit():
        raise USCCError(
            "division", "characters 3 to 8 must be the 6-digit administrative division code"
        )
    expected = check_character(normalised[:17])
    if normalised[17] != expected:
        raise USCCError(
            "check",
            f"check character is '{normalised[17]}', expected '{expected}'",
            found=normalised[17],
            expected=expected,
        )
    return normalised

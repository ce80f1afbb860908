"""Unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters: registration authority (1), organisation type (1), region code (6),
organisation code (9, itself with a GB 11714 check character) and a check character
computed over the first 17 with weights 3^i mod 31.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
VALUES = {char: index for index, char in enumerate(ALPHABET)}


@dataclass(frozen=True)
class UsccError:
    position: int | None  # 1-based position of the offending character, if any
    message: str


def check_character(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters."""
    total = sum(VALUES[char] * weight for char, weight in zip(first17, WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def normalize(code: str) -> str:
    return (code or "").strip().upper()


def uscc_problem(code: str) -> UsccError | None:
    """Explain what is wrong with a code, naming the character, or None if it is valid."""
    code = normalize(code)
    if len(code) != 18:
        return UsccError(None, _("A unified social credit code has 18 characters; this one has %(n)d.") % {"n": len(code)})
    for position, char in enumerate(code, start=1):
        if char not in VALUES:
            return UsccError(
                position,
                _("Character %(pos)d (“%(char)s”) is not allowed: use digits and capital letters except I, O, S, V and Z.")
                % {"pos": position, "char": char},
            )
    for position in range(3, 9):
        if not code[position - 1].isdigit():
            return UsccError(
                position,
                _("Character %(pos)d (“%(char)s”) must be a digit: characters 3–8 are the region code.")
                % {"pos": position, "char": code[position - 1]},
            )
    expected = check_character(code[:17])
    if code[17] != expected:
        return UsccError(
            18,
            _("Character 18, the check digit, is “%(got)s” but the first 17 characters give “%(want)s”: one of the characters is wrong.")
            % {"got": code[17], "want": expected},
        )
    return None


def is_valid_uscc(code: str) -> bool:
    return uscc_problem(code) is None


def validate_uscc(code: str) -> None:
    """Django validator."""
    problem = uscc_problem(code)
    if problem is not None:
        raise ValidationError(problem.message, code="invalid_uscc", params={"position": problem.position})


def make_uscc(body17: str) -> str:
    """Complete 17 characters with their check character (used by demo data and tests)."""
    body17 = normalize(body17)
    return body17 + check_character(body17)

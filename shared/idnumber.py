"""Citizen ID numbers (公民身份号码, GB 11643-1999): 18 characters, checked and normalised.

Layout: a 6-digit region code, the birth date `YYYYMMDD`, a 3-digit sequence code
(odd for men, even for women) and a check character (ISO 7064 MOD 11-2, `X` for 10).
Errors carry our codes (see `shared.problems.FIELD_MESSAGES`), so a command field
annotated `IdNumber` tells the client exactly what is wrong, in Chinese or English.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

LENGTH = 18
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS = "10X98765432"  # indexed by the weighted sum mod 11
_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_LEGACY_SHAPE = re.compile(r"[0-9]{15}")
# Province-level codes (GB/T 2260), unchanged since Chongqing (50) in 1997; 81-83 are the
# residence permits of Hong Kong, Macao and Taiwan residents, which share this layout.
# Only the province is checked: a county code records where the number was first issued,
# and many have since been abolished or renumbered, so an unlisted county is no error.
_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82 83".split()
)
_SEX_BY_PARITY = ("2", "1")  # GB/T 2261.1: even sequence codes are women (2), odd men (1)


def normalise_id_number(value: str) -> str:
    """The number with an uppercase X, or PydanticCustomError (a ValueError) saying what is wrong."""
    # NFKC turns full-width digits and Ｘ, as Chinese input methods type them, into ASCII.
    number = re.sub(r"\s", "", unicodedata.normalize("NFKC", value)).upper()
    if _LEGACY_SHAPE.fullmatch(number):
        raise PydanticCustomError("id_number_legacy", "is an old 15-digit number; enter the 18-digit one")
    if len(number) != LENGTH:
        raise PydanticCustomError(
            "id_number_length", "must have 18 characters, not {length}", {"length": len(number)}
        )
    if not _SHAPE.fullmatch(number):
        raise PydanticCustomError("id_number_characters", "must be 17 digits followed by a digit or X")
    if number[:2] not in _PROVINCES:
        raise PydanticCustomError(
            "id_number_region", "does not start with a region code: {region}", {"region": number[:6]}
        )
    born = _birth_date(number)
    if born > date.today():
        raise PydanticCustomError(
            "id_number_future_birth", "holds a birth date in the future: {birth_date}", {"birth_date": number[6:14]}
        )
    if number[-1] != check_character(number[:17]):
        raise PydanticCustomError("id_number_checksum", "fails its check character; look for a mistyped digit")
    return number


def check_character(first_17_digits: str) -> str:
    """The 18th character that ISO 7064 MOD 11-2 gives these 17 digits."""
    weighted_sum = sum(int(digit) * weight for digit, weight in zip(first_17_digits, _WEIGHTS, strict=True))
    return _CHECK_CHARACTERS[weighted_sum % 11]


def birth_month_of(id_number: str) -> str:
    """`YYYY-MM`, the form of a person's `birth_month`, so entry can cross-check the two."""
    born = _birth_date(normalise_id_number(id_number))
    return f"{born.year:04d}-{born.month:02d}"


def sex_of(id_number: str) -> str:
    """`1` (male) or `2` (female) by GB/T 2261.1, from the parity of the sequence code."""
    return _SEX_BY_PARITY[int(normalise_id_number(id_number)[16]) % 2]


def _birth_date(number: str) -> date:
    digits = number[6:14]
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise PydanticCustomError(
            "id_number_birth_date", "holds a birth date that does not exist: {birth_date}", {"birth_date": digits}
        ) from None


IdNumber = Annotated[str, AfterValidator(normalise_id_number), Field(description="公民身份号码, GB 11643-1999")]
"""A command field holding a citizen ID number, stored normalised."""

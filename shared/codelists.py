"""Code lists the ledgers record people and cases with, read from `shared/reference/*.csv`:
the national standards (GB/T) for people, and the dispute categories of people's-mediation
statistics (project-local codes, see `dispute_category.csv`).

Codes are strings: leading zeros matter, and "0" and "01" are different codes.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

CodeListName = Literal["sex", "ethnicity", "political_status", "family_relationship", "dispute_category"]
Language = Literal["zh", "en"]

_REFERENCE_DIR = Path(__file__).parent / "reference"


@dataclass(frozen=True)
class CodeEntry:
    code: str
    name_zh: str
    name_en: str
    name_zh_full: str | None = None
    """The unabbreviated name where the standard gives one (中国共产党党员 for 中共党员)."""


@dataclass(frozen=True)
class CodeListSource:
    """Which standard a list comes from and what to call it in a message."""

    standard: str
    title_zh: str
    title_en: str


SOURCES: dict[str, CodeListSource] = {
    "sex": CodeListSource("GB/T 2261.1", "性别", "sex"),
    "ethnicity": CodeListSource("GB/T 3304", "民族", "ethnicity"),
    "political_status": CodeListSource("GB/T 4762", "政治面貌", "political status"),
    "family_relationship": CodeListSource("GB/T 4761", "家庭关系", "family relationship"),
    # The justice bureaus' monthly statistics of people's mediation; the codes are ours, not
    # a national code list (../shared/domain/reference/mediation_law.md, section 6).
    "dispute_category": CodeListSource("人民调解纠纷分类", "纠纷类型", "dispute category"),
}


def code_list(name: CodeListName) -> dict[str, CodeEntry]:
    """The codes a person may be recorded with, by code."""
    return _load(_known(name))


def is_valid(name: CodeListName, code: str) -> bool:
    return code in code_list(name)


def label(name: CodeListName, code: str, lang: Language) -> str:
    """The name of `code` in `lang`; KeyError when the code is not in the list."""
    entry = code_list(name)[code]
    return entry.name_zh if lang == "zh" else entry.name_en


def form_label(name: CodeListName, code: str) -> str:
    """The Chinese name as paper forms print it: 男 and 女 rather than 男性 and 女性."""
    entry = code_list(name)[code]
    return _short_name(name, entry.name_zh) if name in _SHORT_ON_FORMS else entry.name_zh


def code_for_label(name: CodeListName, text: str) -> str | None:
    """The code a person wrote by name: the standard's name, its full form, or its everyday
    short form (男, 汉 for 汉族); None when no entry is called that."""
    return _codes_by_label(_known(name)).get(text.strip())


def source(name: CodeListName) -> CodeListSource:
    return SOURCES[_known(name)]


def _known(name: str) -> str:
    if name not in SOURCES:
        raise ValueError(f"unknown code list {name!r}; known: {', '.join(SOURCES)}")
    return name


@cache
def _load(name: str) -> dict[str, CodeEntry]:
    with (_REFERENCE_DIR / f"{name}.csv").open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    entries = (
        CodeEntry(
            code=row["code"],
            name_zh=row["name_zh"],
            # GB/T 3304 gives a romanised name (Han, Zang ...) instead of an English one.
            name_en=row.get("name_en") or row["name_roman"],
            name_zh_full=row.get("name_zh_full") or None,
        )
        for row in rows
        if _is_personal_code(name, row["code"])
    )
    return {entry.code: entry for entry in entries}


# Suffixes a form may leave out: 男 for 男性, 汉 for 汉族.
_SHORT_SUFFIX = {"sex": "性", "ethnicity": "族"}
_SHORT_ON_FORMS = frozenset({"sex"})


def _short_name(name: str, name_zh: str) -> str:
    suffix = _SHORT_SUFFIX.get(name)
    return name_zh.removesuffix(suffix) if suffix and len(name_zh) > len(suffix) else name_zh


@cache
def _codes_by_label(name: str) -> dict[str, str]:
    codes: dict[str, str] = {}
    for entry in _load(name).values():
        for text in {entry.name_zh, entry.name_zh_full, _short_name(name, entry.name_zh)} - {None}:
            if codes.setdefault(text, entry.code) != entry.code:
                raise ValueError(f"{name}: {text!r} names both {codes[text]} and {entry.code}")
    return codes


def _is_personal_code(name: str, code: str) -> bool:
    # GB/T 4761's one-digit rows are category headings (配偶, 子 ...), not a relation a
    # person can have; accepting "2" beside "20" would record the same thing two ways.
    return not (name == "family_relationship" and len(code) == 1)

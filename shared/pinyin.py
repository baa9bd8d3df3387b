"""Search keys for names, so a plain `LIKE '%q%'` finds people the way Chinese users type.

A key holds, separated by spaces, the name's characters, its full pinyin and its
pinyin initials: 王秀英 → `王秀英 wangxiuying wxy`. A query is normalised the same
way and never contains a space, so it matches within one part and never across two:
`王秀`, `wangxiuying`, `Wang Xiuying`, `xiuying`, `wxy` and `wx` all find 王秀英.

Surnames read differently from the same character elsewhere (单 is shan, not dan;
曾 zeng, not ceng), and pypinyin reads a name as ordinary text, so the first
character of a Han name is read from `SURNAME_READINGS`. Where people say a surname
two ways (乐 yue or le, 覃 qin or tan) the key holds both readings, so a key has at
most two pinyin variants and stays under `MAX_KEY_LENGTH` for a 50-character name.
Transliterated names (阿依古丽·买买提) do not start with a surname and are read as
written; their middle dot is dropped, like any separator.

ü is written v, as pinyin keyboards do (吕 → lv).
"""

from __future__ import annotations

import functools
import itertools
import unicodedata
from collections.abc import Iterator

from pypinyin import lazy_pinyin

MAX_NAME_LENGTH = 50
MAX_KEY_LENGTH = 800
"""Longest key of a `MAX_NAME_LENGTH`-character name: characters, and two variants of
pinyin (6 letters a syllable at most) and initials, with separators."""

# Surname readings, the usual one first; a second one where both are in common use.
# Compound surnames come first so that 尉迟 is not read as the single surname 尉.
SURNAME_READINGS: dict[str, tuple[str, ...]] = {
    "尉迟": ("yu chi",),
    "单于": ("chan yu",),
    "万俟": ("mo qi",),
    "长孙": ("zhang sun",),
    "澹台": ("tan tai",),
    "单": ("shan",),
    "曾": ("zeng",),
    "解": ("xie", "jie"),
    "仇": ("qiu", "chou"),
    "区": ("ou",),
    "朴": ("piao",),
    "查": ("zha", "cha"),
    "乐": ("yue", "le"),
    "覃": ("qin", "tan"),
    "尉": ("wei",),
    "盖": ("ge", "gai"),
    "繁": ("po",),
    "缪": ("miao",),
    "员": ("yun",),
    "翟": ("zhai",),
    "召": ("shao",),
    "秘": ("bi",),
    "种": ("chong",),
    "重": ("chong",),
    "句": ("gou",),
    "折": ("she",),
    "隗": ("wei",),
    "阚": ("kan",),
    "郇": ("xun",),
    "宓": ("mi", "fu"),
    "莘": ("shen", "xin"),
    "卜": ("bu",),
    "薄": ("bo",),
    "长": ("chang",),
    "都": ("du",),
    "能": ("nai",),
    "祭": ("zhai",),
    "洗": ("xian",),
    "柏": ("bai", "bo"),
}
_LONGEST_SURNAME = max(map(len, SURNAME_READINGS))


@functools.lru_cache(maxsize=50_000)  # names repeat (王秀英, a compound's name) and pypinyin is slow
def search_keys(name: str) -> str:
    """The text to store beside a name so that `LIKE '%<normalise_query(q)>%'` finds it."""
    tokens = _tokens(_fold(name))
    variants = [list(readings) for readings in _reading_variants(tokens, is_transliterated=_has_middle_dot(name))]
    parts = ["".join(tokens)]
    for syllables in variants:
        parts.append("".join(syllables))
        parts.append("".join(syllable[0] for syllable in syllables))
    return " ".join(dict.fromkeys(part for part in parts if part))


def normalise_query(q: str) -> str:
    """A query as keys are written: lower case, half-width, ü as v, separators and spaces dropped.

    Only letters, digits and Han characters remain, so the result is safe inside a
    LIKE pattern and cannot span two parts of a key.
    """
    return "".join(_tokens(_fold(q)))


def _fold(text: str) -> str:
    # NFKC turns full-width ＷＸＹ into wxy; ü survives it and becomes v.
    return unicodedata.normalize("NFKC", text).lower().replace("ü", "v")


def _tokens(text: str) -> list[str]:
    """Han characters one by one, other letters and digits as words; everything else dropped."""
    tokens: list[str] = []
    for is_han, run in itertools.groupby(text, key=_is_han):
        if is_han:
            tokens.extend(run)
        else:
            tokens.extend("".join(word) for alnum, word in itertools.groupby(run, key=str.isalnum) if alnum)
    return tokens


def _reading_variants(tokens: list[str], *, is_transliterated: bool) -> Iterator[list[str]]:
    """Each way of reading the name aloud, as syllables (a Latin word counts as one)."""
    syllables = _default_syllables(tokens)
    surname, surname_readings = _surname(tokens) if not is_transliterated else ("", ())
    if not surname_readings:
        yield syllables
        return
    rest = syllables[len(surname) :]
    for reading in surname_readings:
        yield reading.split() + rest


def _default_syllables(tokens: list[str]) -> list[str]:
    syllables: list[str] = []
    for is_han, run in itertools.groupby(tokens, key=lambda token: _is_han(token[0])):
        run = list(run)
        # A whole run at once: pypinyin reads a character by its neighbours (长江 chang, 长孙 zhang).
        syllables.extend(lazy_pinyin("".join(run)) if is_han else run)
    return syllables


def _surname(tokens: list[str]) -> tuple[str, tuple[str, ...]]:
    leading_han = "".join(itertools.takewhile(lambda token: _is_han(token[0]), tokens[:_LONGEST_SURNAME]))
    for length in range(len(leading_han), 0, -1):
        if readings := SURNAME_READINGS.get(leading_han[:length]):
            return leading_han[:length], readings
    return "", ()


def _has_middle_dot(name: str) -> bool:
    # 阿依古丽·买买提: the dot may be typed as any of these.
    return any(dot in name for dot in "·•・‧．.")


def _is_han(char: str) -> bool:
    return unicodedata.name(char, "").startswith("CJK UNIFIED IDEOGRAPH") or "\uf900" <= char <= "\ufaff"

"""A value as a ledger's cell shows it, and a cell read back as a value, or what is wrong with it.

Sheets show code lists by their Chinese names (男, 汉族, 中共党员, 配偶) and yes/no as
是/否; months, dates and phone numbers are text, so Excel keeps leading zeros and
never turns a number into a float or a month into a date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.gateway.ledgers.layouts import Column
from shared.codelists import code_for_label, form_label, source
from shared.problems import FieldError

YES, NO = "是", "否"
TEXT_FORMAT = "@"
"""Excel's number format for text: what is typed into such a cell stays as typed."""

# 1958-03, 1958-3, 1958.03, 1958/03, 1958年3月, 195803
_MONTH = re.compile(r"(\d{4})\s*(?:[-./年]\s*(\d{1,2})\s*月?|(\d{2}))")

CellValue = str | int | float | bool | date | datetime | None


@dataclass(frozen=True)
class SheetError:
    """What is wrong with a cell (or the file, when `row` is None), in both languages."""

    row: int | None
    column: str | None
    """The column's Chinese header."""
    field: str
    """Where the value goes in the household, e.g. `members.0.sex`; "" for the file."""
    code: str
    message_zh: str
    message_en: str

    @classmethod
    def of(cls, error: FieldError, row: int | None, column: Column | None) -> SheetError:
        header = column.header if column else None
        return cls(row, header, error.field, error.code, error.message.zh, error.message.en)

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "field": self.field,
            "code": self.code,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }


class UnreadableCell(ValueError):
    """A cell whose text is not a value of its column: a `FIELD_MESSAGES` code and its values."""

    def __init__(self, code: str, **values: Any) -> None:
        super().__init__(code)
        self.code = code
        self.values = values


def to_cell(column: Column, value: Any) -> str | int | None:
    """What the sheet shows for `value`; KeyError for a code that is not in the column's list."""
    if value is None or value == "":
        return None
    if column.kind == "code":
        return form_label(column.code_list, value)
    if column.kind == "yes_no":
        return YES if value else NO
    if column.kind == "integer":
        return int(value)
    return str(value)


def is_text(column: Column) -> bool:
    return column.kind != "integer"


def from_cell(column: Column, raw: CellValue) -> Any:
    """The value a cell holds for `column`, None when blank; raises UnreadableCell."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if column.kind == "code":
        return _code(column, _text(raw))
    if column.kind == "integer":
        return _integer(raw)
    if column.kind == "month":
        return _month(raw)
    if column.kind == "yes_no":
        return _yes_no(_text(raw))
    return _text(raw)


def _text(raw: CellValue) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))  # a phone number Excel stored as a number: 13800138000.0
    if isinstance(raw, datetime):
        return raw.date().isoformat()
    return str(raw).strip()


def _code(column: Column, text: str) -> str:
    if code := code_for_label(column.code_list, text):
        return code
    listed = source(column.code_list)
    raise UnreadableCell(
        "unknown_label", input=text, list_zh=listed.title_zh, list_en=listed.title_en, standard=listed.standard
    )


def _integer(raw: CellValue) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    raise UnreadableCell("wrong_type", input=_text(raw), expected_zh="整数", expected_en="a whole number")


def _month(raw: CellValue) -> str:
    # Excel turns a typed 1958-03 into a date unless the cell is text.
    if isinstance(raw, (date, datetime)):
        return f"{raw.year:04d}-{raw.month:02d}"
    text = _text(raw)
    match = _MONTH.fullmatch(text)
    # A number like 1958.1 may have been 1958.10: only text or a date says which month.
    if not match or isinstance(raw, float):
        return text  # the household's own check says what a month must look like
    month = match[2] or match[3]
    return f"{match[1]}-{int(month):02d}"


def _yes_no(text: str) -> bool:
    if text in (YES, NO):
        return text == YES
    raise UnreadableCell("not_allowed", input=text, expected=f"{YES}、{NO}")

"""Field errors at a row (and column) of a spreadsheet, for problems about an imported sheet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.problems import FieldError, Language, field_error


@dataclass(frozen=True)
class RowError(FieldError):
    row: int | None = None
    """The sheet's row; None for the file as a whole."""
    column: str | None = None
    """The column's header as the sheet prints it (姓名, 联系电话)."""

    def as_json(self, lang: Language) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, **super().as_json(lang)}


def row_error(at_row: int | None, column: str | None, field: str, code: str, **values: Any) -> RowError:
    """`values` fill the message template (`FIELD_MESSAGES[code]`), which may name the row too."""
    error = field_error(field, code, **values)
    return RowError(error.field, error.code, error.message, at_row, column)

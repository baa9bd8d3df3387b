"""The bulk import of households (a household survey sheet, 社情民意统计表) that the gateway
sends intake after reading and checking the sheet: every household or none."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from shared.contracts.intake_requests import Command, RegisterHousehold

MAX_IMPORTED_HOUSEHOLDS = 20_000
"""A bound on one transaction; a district's largest community has fewer households."""


class ImportedHousehold(Command):
    row: Annotated[int, Field(ge=1)]
    """The head's row in the sheet, so a report names the row a worker can find."""
    key: Annotated[str, Field(min_length=1, max_length=500)]
    """Natural key of the household (head's name and birth month, address): the same on
    every import of it, so importing a file again registers nobody twice."""
    household: RegisterHousehold


class ImportHouseholds(Command):
    households: Annotated[list[ImportedHousehold], Field(min_length=1, max_length=MAX_IMPORTED_HOUSEHOLDS)]

    @model_validator(mode="after")
    def _one_row_per_household(self) -> ImportHouseholds:
        rows: dict[str, int] = {}
        for item in self.households:
            if (other_row := rows.setdefault(item.key, item.row)) != item.row:
                raise PydanticCustomError(
                    "duplicate_household", "the same household as on row {other_row}", {"other_row": other_row}
                )
        return self

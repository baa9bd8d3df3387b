"""Importing households from a survey sheet: which are new, which are registered already,
and which are registered with other content. Pure, no I/O."""

from __future__ import annotations

from typing import Any

from services.intake.commands import ChangeHousehold, RegisterHousehold
from services.intake.domain import DomainError
from services.intake.domain import households


class HouseholdsDiffer(DomainError):
    """Some households of the sheet are registered with other content: nothing is imported,
    so a file is reflected whole or not at all. Changes go through the household's PATCH."""

    code = "import_conflict"

    def __init__(self, rows: list[tuple[int, str]]):
        super().__init__(
            f"表中有 {len(rows)} 户已登记，但内容与表中不同；未导入任何家庭",
            f"{len(rows)} households of the sheet are registered with other content; nothing was imported",
        )
        self.rows = rows
        """(the head's row, the head's name) of each household that differs."""


def registered_from(state: households.Household, request_digest: str) -> bool:
    """The household was registered from this very content (an earlier import of the file)."""
    return state.exists and state.registration.get("request_digest") == request_digest


def holds(state: households.Household, household_id: str, community_id: str, command: RegisterHousehold,
          current: dict[str, Any]) -> bool:
    """The household as it now stands (`current`: personal data opened) is what the sheet
    says, e.g. a sheet exported from the register and imported again."""
    change = ChangeHousehold.model_validate(command.model_dump())
    return not households.changes(state, household_id, community_id, change, current)

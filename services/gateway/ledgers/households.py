"""Households as the survey sheet's rows (one per person, see `layouts`) and back.

Reading checks every household as `RegisterHousehold` does and reports each bad
cell by row and column. It never stops at the first error, so one round of
corrections fixes a file.

Each household read gets a natural key (`household_key`): its head's name and birth
month and its address, with spaces and letter case ignored. The 户号 only groups
rows within one file; the key is what a caller matches against households it
registered before, so importing the same file twice registers nobody twice.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pydantic

from services.gateway.ledgers.cells import CellValue, SheetError, UnreadableCell, from_cell
from services.gateway.ledgers.layouts import HOUSEHOLD_SURVEY, Column
from shared.contracts.intake_requests import HEAD_RELATIONS, RegisterHousehold
from shared.problems import field_error, field_errors_from_pydantic

HEAD_RELATION = "02"  # 户主
PERSON_KEYS = ("name", "sex", "birth_month", "ethnicity", "political_status", "work_unit", "phone", "remarks")
ADDRESS_KEYS = ("compound", "building", "unit", "room")
# Household columns and where their value goes in `RegisterHousehold`.
HOUSEHOLD_PATHS: dict[str, tuple[str, ...]] = {
    "household_size": (),  # derived: checked, never stored
    **{key: ("address", key) for key in ADDRESS_KEYS},
    "can_offer": ("can_offer",),
    "needs": ("needs",),
    "household_remarks": ("remarks",),
}
_COLUMN_BY_PATH = {path: key for key, path in HOUSEHOLD_PATHS.items() if path}

SheetRow = tuple[int, dict[str, CellValue]]
"""A sheet row's number and its cells by column key."""


@dataclass(frozen=True)
class ParsedHousehold:
    row: int
    """The head's row in the sheet."""
    key: str
    """Natural key, the same on every import of this household (see the module docstring)."""
    household: dict[str, Any]
    """Shaped like `RegisterHousehold`, checked and normalised by it."""


def household_key(household: Mapping[str, Any]) -> str:
    head, address = household["head"], household["address"]
    parts = [head["name"], head["birth_month"], *(address.get(key) or "" for key in ADDRESS_KEYS)]
    return "|".join("".join(unicodedata.normalize("NFKC", part).lower().split()) for part in parts)


def household_rows(households: Iterable[Mapping[str, Any]]) -> Iterator[tuple[dict[str, Any], bool]]:
    """The sheet's rows by column key, head first, each with whether it is the head's."""
    for number, household in enumerate(households, start=1):
        members = household.get("members") or []
        address = household["address"]
        yield {
            "household_no": number,
            **{key: household["head"].get(key) for key in PERSON_KEYS},
            "relation": HEAD_RELATION,
            "household_size": 1 + len(members),
            **{key: address.get(key) for key in ADDRESS_KEYS},
            "can_offer": household.get("can_offer"),
            "needs": household.get("needs"),
            "household_remarks": household.get("remarks"),
        }, True
        for member in members:
            yield {"household_no": number, **{key: member.get(key) for key in (*PERSON_KEYS, "relation")}}, False


def parse_households(rows: Iterable[SheetRow]) -> tuple[list[ParsedHousehold], list[SheetError]]:
    """Households from the survey's rows, or every error found; never both."""
    households: list[ParsedHousehold] = []
    errors: list[SheetError] = []
    groups: dict[int, _Group] = {}
    for number, cells in rows:
        row = _read_row(number, cells)
        if row.household_no is None:
            errors.extend(row.errors_at(""))
        else:
            groups.setdefault(row.household_no, _Group(row.household_no)).rows.append(row)
    rows_by_key: dict[str, int] = {}
    for group in groups.values():
        parsed, group_errors = group.parse()
        errors.extend(group_errors)
        if parsed is None:
            continue
        if (other_row := rows_by_key.setdefault(parsed.key, parsed.row)) != parsed.row:
            duplicate = field_error("head.name", "duplicate_household", other_row=other_row)
            errors.append(SheetError.of(duplicate, parsed.row, HOUSEHOLD_SURVEY.column("name")))
        households.append(parsed)
    order = {column.header: index for index, column in enumerate(HOUSEHOLD_SURVEY.columns)}
    errors.sort(key=lambda error: (error.row or 0, order.get(error.column or "", -1)))
    return ([], errors) if errors else (households, [])


@dataclass
class _Row:
    number: int
    values: dict[str, Any]
    unreadable: dict[str, UnreadableCell]

    @property
    def household_no(self) -> int | None:
        return self.values.get("household_no")

    @property
    def is_head(self) -> bool:
        return self.values.get("relation") in HEAD_RELATIONS

    def errors_at(self, prefix: str) -> Iterator[SheetError]:
        for key, problem in self.unreadable.items():
            column = HOUSEHOLD_SURVEY.column(key)
            path = _path(prefix, column)
            yield SheetError.of(field_error(path, problem.code, **problem.values), self.number, column)


@dataclass
class _Group:
    household_no: int
    rows: list[_Row] = field(default_factory=list)

    def parse(self) -> tuple[ParsedHousehold | None, list[SheetError]]:
        heads = [row for row in self.rows if row.is_head]
        members = [row for row in self.rows if not row.is_head]
        errors = [
            *(error for row in heads for error in row.errors_at("head")),
            *(error for index, row in enumerate(members) for error in row.errors_at(f"members.{index}")),
        ]
        if len(heads) != 1:
            code, row = ("no_head", self.rows[0]) if not heads else ("two_heads", heads[1])
            error = field_error("head", code, household_no=self.household_no)
            return None, [*errors, SheetError.of(error, row.number, HOUSEHOLD_SURVEY.column("relation"))]
        head = heads[0]
        errors += self._household_values_off_the_head_row(head, members)
        errors += self._size_mismatch(head, counted=len(self.rows))
        household = _household(head, members)
        try:
            command = RegisterHousehold.model_validate(household)
        except pydantic.ValidationError as invalid:
            errors += _unless_reported(_located(invalid, head, members), errors)
            return None, errors
        if errors:
            return None, errors
        document = command.model_dump(mode="json")
        return ParsedHousehold(head.number, household_key(document), document), []

    @staticmethod
    def _household_values_off_the_head_row(head: _Row, members: list[_Row]) -> Iterator[SheetError]:
        for member in members:
            for key, path in HOUSEHOLD_PATHS.items():
                value = member.values.get(key)
                if value is not None and value != head.values.get(key):
                    error = field_error(".".join(path) or key, "differs_from_head", input=value, head_row=head.number)
                    yield SheetError.of(error, member.number, HOUSEHOLD_SURVEY.column(key))

    @staticmethod
    def _size_mismatch(head: _Row, counted: int) -> Iterator[SheetError]:
        size = head.values.get("household_size")
        if size is not None and size != counted:
            error = field_error("household_size", "size_mismatch", input=size, counted=counted)
            yield SheetError.of(error, head.number, HOUSEHOLD_SURVEY.column("household_size"))


def _read_row(number: int, cells: Mapping[str, CellValue]) -> _Row:
    values: dict[str, Any] = {}
    unreadable: dict[str, UnreadableCell] = {}
    for column in HOUSEHOLD_SURVEY.columns:
        try:
            values[column.key] = from_cell(column, cells.get(column.key))
        except UnreadableCell as problem:
            unreadable[column.key] = problem
    if "household_no" not in unreadable and values["household_no"] is None:
        unreadable["household_no"] = UnreadableCell("missing")
    return _Row(number, values, unreadable)


def _household(head: _Row, members: list[_Row]) -> dict[str, Any]:
    """The household as `RegisterHousehold` takes it; blank cells are left out, so a
    required one is reported missing."""

    def present(row: _Row, keys: Iterable[str]) -> dict[str, Any]:
        return {key: row.values[key] for key in keys if row.values.get(key) is not None}

    household: dict[str, Any] = {
        "head": present(head, PERSON_KEYS),
        "members": [present(member, (*PERSON_KEYS, "relation")) for member in members],
        "address": present(head, ADDRESS_KEYS),
    }
    for key in ("can_offer", "needs", "household_remarks"):
        if (value := head.values.get(key)) is not None:
            household[HOUSEHOLD_PATHS[key][0]] = value
    return household


def _located(invalid: pydantic.ValidationError, head: _Row, members: list[_Row]) -> Iterator[SheetError]:
    """Each of the household's errors at the row and column it came from."""
    for error in field_errors_from_pydantic(invalid):
        path = tuple(error.field.split("."))
        row, key = head, _COLUMN_BY_PATH.get(path)
        if path[0] == "head" and len(path) > 1:
            key = path[1]
        elif path[0] == "members" and len(path) > 1:
            row, key = members[int(path[1])], path[2] if len(path) > 2 else None
        column = HOUSEHOLD_SURVEY.column(key) if key else None
        yield SheetError.of(error, row.number, column)


def _unless_reported(errors: Iterable[SheetError], reported: list[SheetError]) -> list[SheetError]:
    # An unreadable cell was left out of the household, which then finds it missing: say it once.
    seen = {(error.row, error.column) for error in reported}
    return [error for error in errors if (error.row, error.column) not in seen]


def _path(prefix: str, column: Column) -> str:
    if column.scope == "household":
        return ".".join(HOUSEHOLD_PATHS[column.key]) or column.key
    return f"{prefix}.{column.key}" if prefix and column.key != "household_no" else column.key

"""Where each ledger of the book comes from: one entry per ledger in `LEDGERS`.

A ledger is its layout (`ledgers.layouts`), a reader of every record of a community in
the book's order, and where personal data sits in a record. The household survey's
records are households (one sheet row per person); the other ledgers' records are one
per resident, so a new one is usually `Ledger(LAYOUT, read=<its view's reader>)`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway.ledgers.households import household_rows
from services.gateway.ledgers.layouts import HOUSEHOLD_SURVEY, LAYOUTS, Layout
from services.gateway.personal_data import PERSON_FIELDS
from services.gateway.views.households import households
from services.gateway.views.label_ledgers import LABEL_LEDGERS, SEALED_COLUMNS, label_ledger_rows

Record = dict[str, Any]
Reader = Callable[[AsyncEngine, str, date], Awaitable[list[Record]]]
"""(engine, community id, today in China) → the ledger's records."""


def _one_person(record: Record) -> list[dict[str, Any]]:
    return [record]


def _with_one_person(record: Record, people: list[dict[str, Any]]) -> Record:
    return people[0]


@dataclass(frozen=True)
class Ledger:
    layout: Layout
    read: Reader
    """Every record of a community, in the book's order."""
    people: Callable[[Record], list[dict[str, Any]]] = _one_person
    """The persons of a record whose sealed fields (phone, ID number) are shown."""
    with_people: Callable[[Record, list[dict[str, Any]]], Record] = _with_one_person
    """The record with those persons as shown (masked or whole)."""
    sealed: Mapping[str, str] = field(default_factory=lambda: dict(PERSON_FIELDS))
    """Each key of a person holding a sealed value, and the field it was sealed as."""
    service: str = "intake"
    """The pillar that sealed those values and opens them."""
    subject: str = "resident_id"
    """The key of a person naming whom the values were sealed for."""

    def rows(self, records: list[Record]) -> Iterator[dict[str, Any]]:
        """The sheet's rows as JSON: every column by its key (codes as codes), and the resident."""
        for record in records:
            yield {**{column.key: record.get(column.key) for column in self.layout.columns},
                   "resident_id": record.get("resident_id")}


class HouseholdSurvey(Ledger):
    """社情民意统计表: households, one sheet row per person (see `ledgers.layouts`)."""

    def rows(self, records: list[Record]) -> Iterator[dict[str, Any]]:
        people = ((record["id"], person) for record in records for person in _people(record))
        for (row, _is_head), (household_id, person) in zip(household_rows(records), people, strict=True):
            yield {**{column.key: row.get(column.key) for column in self.layout.columns},
                   "household_id": household_id, "resident_id": person.get("resident_id")}


def _people(household: Record) -> list[dict[str, Any]]:
    return [household["head"], *(household.get("members") or [])]


def _with_people(household: Record, people: list[dict[str, Any]]) -> Record:
    return {**household, "head": people[0], "members": people[1:]}


async def read_households(engine: AsyncEngine, community_id: str, today: date) -> list[Record]:
    """The community's households by address, as a worker walks the compounds."""
    query = select(households.c.document).where(households.c.community_id == community_id)
    async with engine.connect() as conn:
        documents = list((await conn.execute(query)).scalars())
    return sorted(documents, key=_by_address)


def _by_address(household: Record) -> tuple:
    address = household["address"]
    parts = (address.get(part) or "" for part in ("compound", "building", "unit", "room"))
    return (*(_natural(part) for part in parts), household["head"]["name"], household["id"])


def _natural(text: str) -> tuple:
    """3栋 before 10栋: numbers compare as numbers."""
    return tuple((0, int(piece), "") if piece.isdigit() else (1, 0, piece) for piece in re.split(r"(\d+)", text) if piece)


def _label_ledger(label: str) -> Ledger:
    async def read(engine: AsyncEngine, community_id: str, today: date) -> list[Record]:
        return await label_ledger_rows(engine, community_id, label, today)

    return Ledger(LAYOUTS[label], read, sealed=SEALED_COLUMNS)


LEDGERS: dict[str, Ledger] = {
    "household_survey": HouseholdSurvey(HOUSEHOLD_SURVEY, read_households, _people, _with_people),
    **{label: _label_ledger(label) for label in LABEL_LEDGERS},
}
"""The ledgers the gateway serves, by the name in `/ledgers/{ledger}`."""


def _with_mediation_ledgers() -> None:
    from services.gateway.ledger_sources_mediation import MEDIATION_LEDGERS

    LEDGERS.update(MEDIATION_LEDGERS)


_with_mediation_ledgers()

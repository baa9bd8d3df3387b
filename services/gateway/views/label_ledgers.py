"""The book's ledgers 2–6 (困难群众, 下岗失业人员, 空巢及孤寡老人, 困难军转干部, “两劳”人员)
as rows in each layout's keys (`services/gateway/ledgers/layouts.py`), read from the
residents' registry: one row per resident whose label of that kind is active today.

Personal data stays sealed in the rows; `SEALED_COLUMNS` says which field each sealed
column was sealed as, so `personal_data.py` can open (or mask) a whole page at once.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway.views.households import households
from services.gateway.views.residents import active_label, resident_labels, residents

SEALED_COLUMNS = {
    "phone": "phone",
    "hardship_cause": "hardship.cause",
    "relative_phone": "elderly_alone.relative_phone",
    "reason": "reentry.reason_for_custody",
    "released_on": "reentry.released_on",
}
"""Ledger column → the field its sealed value is bound to."""

_FROM_DETAILS = {
    "hardship": {"hardship_cause": "cause"},
    "unemployed": {"former_work_unit": "former_work_unit", "skills": "skills"},
    "elderly_alone": {"relative_phone": "relative_phone", "has_income": "has_income"},
    "veteran_hardship": {"transferred_in": "transferred_in", "employment": "employed_at"},
    "reentry": {"reason": "reason_for_custody", "released_on": "released_on", "employment": "employed_at"},
}
"""Ledger column → the label detail it shows."""

LABEL_LEDGERS = tuple(_FROM_DETAILS)


async def label_ledger_rows(engine: AsyncEngine, community_id: str, label: str, today: date) -> list[dict[str, Any]]:
    """Rows in the book's order of entry (oldest label first), each with `resident_id`."""
    statement = (
        select(residents.c.id, residents.c.document, resident_labels.c.details, households.c.household_size)
        .join(resident_labels, resident_labels.c.resident_id == residents.c.id)
        .outerjoin(households, households.c.id == residents.c.household_id)
        .where(residents.c.community_id == community_id, residents.c.merged_into.is_(None), *active_label(label, today))
        .order_by(resident_labels.c.since, residents.c.created_at, residents.c.id)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(statement)).all()
    return [_row(label, row) for row in rows]


def _row(label: str, row: Any) -> dict[str, Any]:
    person = row.document
    address = person["address"]
    shown = {
        "resident_id": row.id,
        "name": person["name"],
        "sex": person["sex"],
        "birth_month": person["birth_month"],
        "political_status": person.get("political_status"),
        "household_size": row.household_size or 1,
        "work_unit": person.get("work_unit"),
        "address": "".join(part for part in (address["compound"], address["building"], _unit(address)) if part),
        "phone": person.get("phone"),
    }
    for column, detail in _FROM_DETAILS[label].items():
        shown[column] = row.details.get(detail)
    return shown


def _unit(address: dict[str, Any]) -> str:
    unit, room = address.get("unit"), address.get("room")
    return "".join([f"{unit}单元" if unit else "", f"{room}" if room else ""])

"""The residents' registry read model: one row per resident, and one per label they carry
(the book's ledgers 2–6). Personal data stays sealed here; `personal_data.py` opens it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.gateway.views import views_metadata
from services.gateway.views.pages import newest_first, page, wait_for_version
from shared.contracts.intake_care import RESIDENT_CARE_EVENTS
from shared.contracts.intake_residents import (
    SEALED_LABEL_DETAILS,
    ResidentAbsorbed,
    ResidentChanged,
    ResidentErased,
    ResidentLabelCleared,
    ResidentLabelled,
    ResidentLabelRenewed,
    ResidentMergedInto,
    ResidentMovedHousehold,
    ResidentRegistered,
)
from shared.db import upsert, upsert_many
from shared.events import Envelope
from shared.pinyin import normalise_query, search_keys

residents = Table(
    "view_residents",
    views_metadata,
    Column("id", String(64), primary_key=True),
    Column("community_id", String(100), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("name", String(50), nullable=False),
    Column("search", String(1000), nullable=False),
    Column("compound", String(50), nullable=False),
    Column("building", String(20), nullable=False),
    Column("household_id", String(64)),
    Column("merged_into", String(64)),
    Column("erased", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", JSON, nullable=False),
    Index("view_residents_listing", "community_id", "created_at", "id"),
)

resident_labels = Table(
    "view_resident_labels",
    views_metadata,
    Column("resident_id", String(64), primary_key=True),
    Column("label", String(30), primary_key=True),
    Column("community_id", String(100), nullable=False),
    Column("since", String(10), nullable=False),
    Column("until", String(10)),
    Column("cleared_on", String(10)),
    Column("reason", Text, nullable=False),
    Column("details", JSON, nullable=False),
    Index("view_resident_labels_ledger", "community_id", "label"),
)
"""A label as last given: `details` holds its own fields, personal data among them sealed."""


async def project_residents(conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
    """Registrations (most of a household import) need no read: a run of them is written
    in one statement; any other event is applied on its own, in order."""
    registered: list[dict[str, Any]] = []
    for envelope in envelopes:
        if envelope.type == ResidentRegistered.event_type:
            registered.append(_values(envelope, _registered_document(envelope)))
            continue
        await _write_all(conn, registered)
        registered = []
        await _PROJECTIONS[envelope.type](conn, envelope)
    await _write_all(conn, registered)


async def _registered(conn: AsyncConnection, envelope: Envelope) -> None:
    await _write(conn, envelope, _registered_document(envelope))


def _registered_document(envelope: Envelope) -> dict[str, Any]:
    data = envelope.data
    return {
        "id": data["resident_id"],
        "community_id": envelope.community_id,
        **data["person"],
        "address": data["address"],
        "household_id": data.get("household_id"),
        "relation": data.get("relation"),
        "merged_into": None,
        "absorbed": [],
        "erased": False,
        "created_at": envelope.occurred_at.isoformat(),
    }


async def _changed(conn: AsyncConnection, envelope: Envelope) -> None:
    document = await _document(conn, envelope)
    data = envelope.data
    await _write(conn, envelope, {**document, **data["person"], "address": data.get("address") or document["address"]})


async def _moved(conn: AsyncConnection, envelope: Envelope) -> None:
    data = envelope.data
    moved = {"household_id": data["to_household_id"], "relation": data.get("relation")}
    await _write(conn, envelope, {**await _document(conn, envelope), **moved})


async def _merged_into(conn: AsyncConnection, envelope: Envelope) -> None:
    await _write(conn, envelope, {**await _document(conn, envelope), "merged_into": envelope.data["survivor_id"]})


async def _absorbed(conn: AsyncConnection, envelope: Envelope) -> None:
    document = await _document(conn, envelope)
    await _write(conn, envelope, {**document, "absorbed": [*document["absorbed"], envelope.data["duplicate_id"]]})


async def _erased(conn: AsyncConnection, envelope: Envelope) -> None:
    """The key is gone; the sealed copies go too, the counts stay."""
    document = await _document(conn, envelope)
    await _write(conn, envelope, {**document, "phone": None, "id_number": None, "erased": True})
    rows = await conn.execute(select(resident_labels).where(resident_labels.c.resident_id == document["id"]))
    for row in rows.all():
        sealed = SEALED_LABEL_DETAILS.get(row.label, ())
        details = {key: None if key in sealed else value for key, value in row.details.items()}
        await conn.execute(
            update(resident_labels)
            .where(resident_labels.c.resident_id == row.resident_id, resident_labels.c.label == row.label)
            .values(details=details)
        )


async def _labelled(conn: AsyncConnection, envelope: Envelope) -> None:
    data = envelope.data
    values = {
        "resident_id": data["resident_id"],
        "label": data["label"],
        "community_id": envelope.community_id,
        "since": data["since"],
        "until": data.get("until"),
        "cleared_on": None,
        "reason": data["reason"],
        "details": data["details"],
    }
    await upsert(conn, resident_labels, values, key=("resident_id", "label"), update=tuple(values)[2:])
    await _touch(conn, envelope)


async def _label_cleared(conn: AsyncConnection, envelope: Envelope) -> None:
    await _update_label(conn, envelope, cleared_on=envelope.data["on"])


async def _label_renewed(conn: AsyncConnection, envelope: Envelope) -> None:
    await _update_label(conn, envelope, until=envelope.data["until"])


async def _update_label(conn: AsyncConnection, envelope: Envelope, **values: Any) -> None:
    data = envelope.data
    await conn.execute(
        update(resident_labels)
        .where(resident_labels.c.resident_id == data["resident_id"], resident_labels.c.label == data["label"])
        .values(**values)
    )
    await _touch(conn, envelope)


async def _touch(conn: AsyncConnection, envelope: Envelope) -> None:
    await _write(conn, envelope, await _document(conn, envelope))


async def _document(conn: AsyncConnection, envelope: Envelope) -> dict[str, Any]:
    return await conn.scalar(select(residents.c.document).where(residents.c.id == envelope.data["resident_id"]))


async def _write(conn: AsyncConnection, envelope: Envelope, document: dict[str, Any]) -> None:
    await _write_all(conn, [_values(envelope, document)])


async def _write_all(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await upsert_many(conn, residents, rows, key=("id",), update=_UPDATED)


def _values(envelope: Envelope, document: dict[str, Any]) -> dict[str, Any]:
    document = {**document, "version": envelope.version, "updated_at": envelope.occurred_at.isoformat()}
    address = document["address"]
    values = {
        "id": document["id"],
        "community_id": document["community_id"],
        "created_at": document["created_at"],
        "name": document["name"],
        "search": search_keys(document["name"]),
        "compound": address["compound"],
        "building": address["building"],
        "household_id": document.get("household_id"),
        "merged_into": document.get("merged_into"),
        "erased": document["erased"],
        "version": envelope.version,
        "document": document,
    }
    return values


_UPDATED = (
    "community_id", "created_at", "name", "search", "compound", "building", "household_id", "merged_into", "erased",
    "version", "document",
)


_PROJECTIONS = {
    ResidentRegistered.event_type: _registered,
    ResidentChanged.event_type: _changed,
    ResidentMergedInto.event_type: _merged_into,
    ResidentMovedHousehold.event_type: _moved,
    ResidentAbsorbed.event_type: _absorbed,
    ResidentErased.event_type: _erased,
    ResidentLabelled.event_type: _labelled,
    ResidentLabelCleared.event_type: _label_cleared,
    ResidentLabelRenewed.event_type: _label_renewed,
    **{event_class.event_type: _touch for event_class in RESIDENT_CARE_EVENTS},  # the version moves on
}

PROJECTORS = {event_type: [project_residents] for event_type in _PROJECTIONS}


async def get_resident(engine: AsyncEngine, community_id: str, resident_id: str) -> dict[str, Any] | None:
    """The resident with every label they were ever given (`active` as of today)."""
    async with engine.connect() as conn:
        document = await conn.scalar(
            select(residents.c.document).where(residents.c.id == resident_id, residents.c.community_id == community_id)
        )
        if document is None:
            return None
        rows = await conn.execute(select(resident_labels).where(resident_labels.c.resident_id == resident_id))
        return {**document, "labels": [_label(row) for row in rows.all()]}


async def wait_for_resident(
    engine: AsyncEngine, community_id: str, resident_id: str, version: int, timeout_s: float
) -> dict[str, Any] | None:
    return await wait_for_version(engine, residents, resident_id, community_id, version, timeout_s)


async def list_residents(
    engine: AsyncEngine,
    community_id: str,
    *,
    limit: int,
    cursor: str | None,
    query: str | None = None,
    compound: str | None = None,
    building: str | None = None,
    label: str | None = None,
    include_merged: bool = False,
    today: date,
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first. `query` matches characters, full pinyin or initials (`wxy`: 王秀英);
    `label` keeps residents whose label of that kind is active today."""
    statement = select(residents.c.document, residents.c.created_at, residents.c.id).where(
        residents.c.community_id == community_id
    )
    if query and (needle := normalise_query(query)):
        statement = statement.where(residents.c.search.contains(needle, autoescape=True))
    if compound:
        statement = statement.where(residents.c.compound == compound)
    if building:
        statement = statement.where(residents.c.building == building)
    if not include_merged:
        statement = statement.where(residents.c.merged_into.is_(None))
    if label:
        statement = statement.join(resident_labels, resident_labels.c.resident_id == residents.c.id).where(
            *active_label(label, today)
        )
    statement = newest_first(statement, residents, cursor, limit)
    async with engine.connect() as conn:
        rows = (await conn.execute(statement)).all()
    shown, next_cursor = page(rows, limit)
    return [row.document for row in shown], next_cursor


def active_label(label: str, today: date) -> list[Any]:
    """Conditions on `resident_labels` for a label of kind `label` active on `today`."""
    day = today.isoformat()
    return [
        resident_labels.c.label == label,
        resident_labels.c.cleared_on.is_(None),
        or_(resident_labels.c.until.is_(None), resident_labels.c.until >= day),
    ]


def _label(row: Any) -> dict[str, Any]:
    return {
        "label": row.label,
        "since": row.since,
        "until": row.until,
        "cleared_on": row.cleared_on,
        "reason": row.reason,
        "details": row.details,
    }

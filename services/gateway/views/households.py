"""The household survey read model (社情民意统计表): one row per household, searchable."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.gateway.views import views_metadata
from services.gateway.views.pages import newest_first, page, wait_for_version
from shared.contracts.intake import (
    HouseholdChanged,
    HouseholdRegistered,
    household_document,
)
from shared.contracts.intake_care import HOUSEHOLD_CARE_EVENTS
from shared.db import upsert_many
from shared.events import Envelope
from shared.pinyin import normalise_query, search_keys

households = Table(
    "view_households",
    views_metadata,
    Column("id", String(64), primary_key=True),
    Column("community_id", String(100), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("head_name", String(50), nullable=False),
    Column("names", String(2000), nullable=False),
    Column("compound", String(50), nullable=False),
    Column("building", String(20), nullable=False),
    Column("household_size", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", JSON, nullable=False),
    Index("view_households_listing", "community_id", "created_at", "id"),
)


async def project_households(conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
    """One read of the households the batch changes (a registration needs none) and one
    write of their new rows."""
    documents: dict[str, dict[str, Any] | None] = {}
    unread = {
        envelope.data["household_id"]
        for envelope in envelopes
        if envelope.type != HouseholdRegistered.event_type
    }
    if unread:
        rows = await conn.execute(select(households.c.id, households.c.document).where(households.c.id.in_(unread)))
        documents.update({row.id: row.document for row in rows})
    for envelope in envelopes:
        household_id = envelope.data["household_id"]
        documents[household_id] = household_document(documents.get(household_id), envelope)
    await upsert_many(
        conn,
        households,
        [_row(household_id, document) for household_id, document in documents.items()],
        key=("id",),
        update=("head_name", "names", "compound", "building", "household_size", "version", "document"),
    )


def _row(household_id: str, document: dict[str, Any]) -> dict[str, Any]:
    people = [document["head"], *(document["members"] or [])]
    return {
        "id": household_id,
        "community_id": document["community_id"],
        "created_at": document["created_at"],
        "head_name": document["head"]["name"],
        "names": " ".join(search_keys(person["name"]) for person in people)[:2000],
        "compound": document["address"]["compound"],
        "building": document["address"]["building"],
        "household_size": document["household_size"],
        "version": document["version"],
        "document": document,
    }


PROJECTORS = {
    HouseholdRegistered.event_type: [project_households],
    HouseholdChanged.event_type: [project_households],
    **{event_class.event_type: [project_households] for event_class in HOUSEHOLD_CARE_EVENTS},  # the version moves on
}


async def get_household(engine: AsyncEngine, community_id: str, household_id: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        return await conn.scalar(
            select(households.c.document).where(
                households.c.id == household_id, households.c.community_id == community_id
            )
        )


async def wait_for_household(
    engine: AsyncEngine, community_id: str, household_id: str, version: int, timeout_s: float
) -> dict[str, Any] | None:
    return await wait_for_version(engine, households, household_id, community_id, version, timeout_s)


async def list_households(
    engine: AsyncEngine,
    community_id: str,
    *,
    limit: int,
    cursor: str | None,
    name: str | None,
    compound: str | None,
    building: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first; `cursor` continues after the last row of the previous page."""
    query = select(households.c.document, households.c.created_at, households.c.id).where(
        households.c.community_id == community_id
    )
    if name:
        query = query.where(households.c.names.contains(normalise_query(name), autoescape=True))
    if compound:
        query = query.where(households.c.compound == compound)
    if building:
        query = query.where(households.c.building == building)
    query = newest_first(query, households, cursor, limit)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    shown, next_cursor = page(rows, limit)
    return [row.document for row in shown], next_cursor

"""The information network read model: officer teams with their members (phones sealed,
opened by `personal_data`), compound party groups by building, sentiment meetings with
the reports their items became. One row per record, its document as intake builds it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.gateway.views import views_metadata
from services.gateway.views.pages import newest_first, page
from services.gateway.views.residents import residents
from shared.contracts.intake_network import (
    MEETING_EVENTS,
    PARTY_GROUP_EVENTS,
    TEAM_EVENTS,
    meeting_document,
    party_group_document,
    team_document,
)
from shared.db import upsert
from shared.events import Envelope


def _table(name: str) -> Table:
    return Table(
        name,
        views_metadata,
        Column("id", String(64), primary_key=True),
        Column("community_id", String(100), nullable=False),
        Column("created_at", String(40), nullable=False),
        Column("member_count", Integer, nullable=False),
        Column("version", Integer, nullable=False),
        Column("document", JSON, nullable=False),
        Index(f"{name}_listing", "community_id", "created_at", "id"),
    )


teams = _table("view_info_officer_teams")
party_groups = _table("view_party_groups")
meetings = _table("view_sentiment_meetings")

Document = Callable[[dict[str, Any] | None, Envelope], dict[str, Any]]


def _projector(table: Table, document_after: Document, id_field: str):
    async def project(conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
        for envelope in envelopes:
            record_id = envelope.data[id_field]
            current = await conn.scalar(select(table.c.document).where(table.c.id == record_id))
            document = document_after(current, envelope)
            row = {
                "id": record_id, "community_id": envelope.community_id, "created_at": document["created_at"],
                "member_count": document.get("member_count", 0), "version": document["version"], "document": document,
            }
            await upsert(conn, table, row, key=("id",), update=("member_count", "version", "document"))

    return project


project_teams = _projector(teams, team_document, "team_id")
project_party_groups = _projector(party_groups, party_group_document, "group_id")
project_meetings = _projector(meetings, lambda _current, envelope: meeting_document(envelope), "meeting_id")

PROJECTORS = {
    **{e.event_type: [project_teams] for e in TEAM_EVENTS},
    **{e.event_type: [project_party_groups] for e in PARTY_GROUP_EVENTS},
    **{e.event_type: [project_meetings] for e in MEETING_EVENTS},
}


async def get(engine: AsyncEngine, table: Table, community_id: str, record_id: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        return await conn.scalar(select(table.c.document).where(table.c.id == record_id, table.c.community_id == community_id))


async def list_page(
    engine: AsyncEngine, table: Table, community_id: str, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first; a cursor not ours is a 400."""
    query = select(table.c.document, table.c.created_at, table.c.id).where(table.c.community_id == community_id)
    async with engine.connect() as conn:
        rows = (await conn.execute(newest_first(query, table, cursor, limit))).all()
    shown, next_cursor = page(rows, limit)
    return [row.document for row in shown], next_cursor


async def totals(engine: AsyncEngine, table: Table, community_id: str) -> dict[str, int]:
    """How many records and active members the community has (the book's "21 teams, 114 officers")."""
    query = select(func.count(), func.coalesce(func.sum(table.c.member_count), 0)).where(table.c.community_id == community_id)
    async with engine.connect() as conn:
        records, members = (await conn.execute(query)).one()
    return {"records": int(records), "members": int(members)}


async def resident_names(engine: AsyncEngine, resident_ids: list[str]) -> dict[str, str]:
    """Names of residents from the residents view, for members referred to by id."""
    if not resident_ids:
        return {}
    async with engine.connect() as conn:
        rows = (await conn.execute(select(residents.c.id, residents.c.name).where(residents.c.id.in_(set(resident_ids))))).all()
    return {row.id: row.name for row in rows}

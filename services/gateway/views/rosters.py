"""The rosters' read model: mediators (辖区调解员) and units sharing mediation duty
(辖区单位参与调解责任), one row per entry, built from mediation's stream only; phones stay
sealed here (mediation keeps the keys). Their numbers of mediations (参与调解次数) are
counted when read, from the sessions of the dispute read model
(`shared.contracts.mediation_rosters.mediation_counts`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.gateway.views import views_metadata
from services.gateway.views.disputes import disputes
from services.gateway.views.pages import wait_for_version
from shared.contracts.mediation_rosters import MEDIATOR_EVENTS, UNIT_EVENTS, mediation_counts, roster_document
from shared.db import upsert
from shared.events import Envelope


def _table(name: str) -> Table:
    return Table(
        name,
        views_metadata,
        Column("id", String(64), primary_key=True),
        Column("community_id", String(100), nullable=False),
        Column("created_at", String(40), nullable=False),
        Column("version", Integer, nullable=False),
        Column("document", JSON, nullable=False),
        Index(f"{name}_listing", "community_id", "created_at", "id"),
    )


mediators = _table("view_mediators")
units = _table("view_mediation_units")
TABLES = {"mediator": mediators, "unit": units}


def _projector(table: Table, id_field: str):
    async def project(conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
        for envelope in envelopes:
            entry_id = envelope.data[id_field]
            current = await conn.scalar(select(table.c.document).where(table.c.id == entry_id))
            document = roster_document(current, envelope)
            if not document:
                continue
            row = {"id": entry_id, "community_id": document["community_id"], "created_at": document["created_at"],
                   "version": document["version"], "document": document}
            await upsert(conn, table, row, key=("id",), update=("version", "document"))

    return project


PROJECTORS = {
    **{e.event_type: [_projector(mediators, "mediator_id")] for e in MEDIATOR_EVENTS},
    **{e.event_type: [_projector(units, "unit_id")] for e in UNIT_EVENTS},
}


async def get(engine: AsyncEngine, kind: str, community_id: str, entry_id: str) -> dict[str, Any] | None:
    table = TABLES[kind]
    async with engine.connect() as conn:
        document = await conn.scalar(select(table.c.document).where(table.c.id == entry_id, table.c.community_id == community_id))
    if document is None:
        return None
    [counted] = await with_counts(engine, kind, community_id, [document])
    return counted


async def roster(engine: AsyncEngine, kind: str, community_id: str, *, removed: bool = False) -> list[dict[str, Any]]:
    """The community's entries in the order they were registered, each with its number of
    mediations; removed ones only when asked for."""
    table = TABLES[kind]
    query = select(table.c.document).where(table.c.community_id == community_id).order_by(table.c.created_at, table.c.id)
    async with engine.connect() as conn:
        documents = list((await conn.execute(query)).scalars())
    shown = documents if removed else [d for d in documents if not d.get("removed")]
    return await with_counts(engine, kind, community_id, shown)


async def with_counts(engine: AsyncEngine, kind: str, community_id: str, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counts = (await community_counts(engine, community_id))[0 if kind == "mediator" else 1]
    return [{**entry, "mediations": counts.get(entry["id"], 0)} for entry in entries]


async def community_counts(engine: AsyncEngine, community_id: str) -> tuple[dict[str, int], dict[str, int]]:
    """Sessions per roster mediator and per roster unit, over every case of the community."""
    async with engine.connect() as conn:
        cases = list((await conn.execute(select(disputes.c.document).where(disputes.c.community_id == community_id))).scalars())
        roster_mediators = list((await conn.execute(
            select(mediators.c.document).where(mediators.c.community_id == community_id)
        )).scalars())
    sessions = (session for case in cases for session in case.get("sessions") or ())
    return mediation_counts(sessions, roster_mediators)


async def wait_for_entry(
    engine: AsyncEngine, kind: str, community_id: str, entry_id: str, version: int, timeout_s: float
) -> dict[str, Any] | None:
    shown = await wait_for_version(engine, TABLES[kind], entry_id, community_id, version, timeout_s)
    if shown is None:
        return None
    [counted] = await with_counts(engine, kind, community_id, [shown])
    return counted

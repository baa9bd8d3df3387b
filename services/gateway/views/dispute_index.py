"""What the worklist and the resident profile need of the cases beyond the case document:

- **Parties by resident** (`view_dispute_parties`): one row per party of a case who is a
  resident of the registry, so a resident's cases are found by an index, not by reading
  every case.
- **When each agreement was recorded** (`view_dispute_agreements`): the first follow-up is
  due 15 days (the policy's period) after the agreement event, which the case document does
  not keep (only the day it took effect, `reached_on`).

Both are built from mediation's stream, like every view, and rebuilt with the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, String, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.gateway.views import views_metadata
from services.gateway.views.disputes import disputes
from services.gateway.views.residents import residents
from shared.contracts.mediation import AgreementReached, DisputeRegistered
from shared.contracts.mediation_changes import DisputeDetailsAmended
from shared.db import upsert, upsert_many
from shared.events import Envelope

dispute_parties = Table(
    "view_dispute_parties",
    views_metadata,
    Column("dispute_id", String(64), primary_key=True),
    Column("party_id", String(20), primary_key=True),
    Column("resident_id", String(64), nullable=False),
    Column("community_id", String(100), nullable=False),
    Column("side", String(1), nullable=False),
    Index("view_dispute_parties_resident", "resident_id"),
)

dispute_agreements = Table(
    "view_dispute_agreements",
    views_metadata,
    Column("dispute_id", String(64), primary_key=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)


async def index_parties(conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
    """On registration, and on an amendment that lists the parties anew."""
    for envelope in envelopes:
        if envelope.data.get("parties") is None:
            continue
        dispute_id = envelope.data["dispute_id"]
        rows = [
            {"dispute_id": dispute_id, "party_id": party["party_id"], "resident_id": party["resident_id"],
             "community_id": envelope.community_id, "side": party["side"]}
            for party in envelope.data["parties"]
            if party.get("resident_id")
        ]
        await conn.execute(delete(dispute_parties).where(dispute_parties.c.dispute_id == dispute_id))
        if rows:
            await upsert_many(conn, dispute_parties, rows, key=("dispute_id", "party_id"), update=("resident_id", "side"))


async def note_agreements(conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
    for envelope in envelopes:
        values = {"dispute_id": envelope.data["dispute_id"], "recorded_at": envelope.occurred_at.astimezone(UTC)}
        await upsert(conn, dispute_agreements, values, key=("dispute_id",), update=("recorded_at",))


PROJECTORS = {
    DisputeRegistered.event_type: [index_parties],
    DisputeDetailsAmended.event_type: [index_parties],
    AgreementReached.event_type: [note_agreements],
}

# -- reading ------------------------------------------------------------------------------


async def cases_of(engine: AsyncEngine, resident_ids: Sequence[str]) -> list[tuple[dict[str, Any], set[str]]]:
    """The cases in which any of `resident_ids` is a party, with those parties' ids, newest first."""
    query = select(dispute_parties.c.dispute_id, dispute_parties.c.party_id).where(
        dispute_parties.c.resident_id.in_(list(resident_ids))
    )
    async with engine.connect() as conn:
        party_ids: dict[str, set[str]] = {}
        for row in (await conn.execute(query)).all():
            party_ids.setdefault(row.dispute_id, set()).add(row.party_id)
        documents = (await conn.scalars(
            select(disputes.c.document).where(disputes.c.id.in_(list(party_ids)))
            .order_by(disputes.c.created_at.desc(), disputes.c.id.desc())
        )).all() if party_ids else []
    return [(document, party_ids[document["id"]]) for document in documents]


async def agreements_recorded(engine: AsyncEngine, dispute_ids: Sequence[str]) -> dict[str, datetime]:
    query = select(dispute_agreements).where(dispute_agreements.c.dispute_id.in_(list(dispute_ids)))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all() if dispute_ids else []
    return {row.dispute_id: _aware(row.recorded_at) for row in rows}


async def resident_names(engine: AsyncEngine, resident_ids: Sequence[str]) -> dict[str, str]:
    """The registry's names of residents a case names by id alone."""
    if not resident_ids:
        return {}
    query = select(residents.c.id, residents.c.name).where(residents.c.id.in_(list(resident_ids)))
    async with engine.connect() as conn:
        return {row.id: row.name for row in (await conn.execute(query)).all()}


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every one stored here is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

"""The dispute case read model (调解矛盾纠纷): one row per case, built from mediation's
stream only (never by asking mediation), listed newest first with cursor pages and
filtered by status, category, source or outcome."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.gateway.views import views_metadata
from services.gateway.views.pages import newest_first, page, wait_for_version
from shared.contracts.mediation import DISPUTE_EVENTS, dispute_document
from shared.db import upsert
from shared.events import Envelope

disputes = Table(
    "view_disputes",
    views_metadata,
    Column("id", String(64), primary_key=True),
    Column("community_id", String(100), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("outcome", String(20), nullable=True),
    Column("source", String(40), nullable=False),
    Column("category", String(10), nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", JSON, nullable=False),
    Index("view_disputes_listing", "community_id", "created_at", "id"),
)


async def project_disputes(conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
    for envelope in envelopes:
        dispute_id = envelope.data["dispute_id"]
        current = await conn.scalar(select(disputes.c.document).where(disputes.c.id == dispute_id))
        document = dispute_document(current, envelope)
        if not document:
            continue
        await upsert(
            conn,
            disputes,
            {
                "id": dispute_id,
                "community_id": document["community_id"],
                "created_at": document["created_at"],
                "status": document["status"],
                "outcome": document["outcome"],
                "source": document["source"],
                "category": document["category"],
                "version": document["version"],
                "document": document,
            },
            key=("id",),
            update=("status", "outcome", "source", "category", "version", "document"),
        )


PROJECTORS = {event_class.event_type: [project_disputes] for event_class in DISPUTE_EVENTS}


async def get_dispute(engine: AsyncEngine, community_id: str, dispute_id: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        return await conn.scalar(
            select(disputes.c.document).where(disputes.c.id == dispute_id, disputes.c.community_id == community_id)
        )


async def wait_for_dispute(
    engine: AsyncEngine, community_id: str, dispute_id: str, version: int, timeout_s: float
) -> dict[str, Any] | None:
    return await wait_for_version(engine, disputes, dispute_id, community_id, version, timeout_s)


async def list_disputes(
    engine: AsyncEngine,
    community_id: str | Sequence[str],
    *,
    limit: int,
    cursor: str | None,
    status: str | None = None,
    category: str | None = None,
    source: str | None = None,
    outcome: str | None = None,
    handled_by: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first, of one community or several (a street's); `cursor` continues after the
    last row of the previous page."""
    communities = [community_id] if isinstance(community_id, str) else list(community_id)
    query = select(disputes.c.document, disputes.c.created_at, disputes.c.id).where(
        disputes.c.community_id.in_(communities)
    )
    for column, value in (
        (disputes.c.status, status),
        (disputes.c.category, category),
        (disputes.c.source, source),
        (disputes.c.outcome, outcome),
    ):
        if value is not None:
            query = query.where(column == value)
    if handled_by is not None:
        query = query.where(disputes.c.document["handled_by"].as_string() == handled_by)
    async with engine.connect() as conn:
        rows = (await conn.execute(newest_first(query, disputes, cursor, limit))).all()
    shown, next_cursor = page(rows, limit)
    return [row.document for row in shown], next_cursor

"""The sentiment report read model (社情民意): one row per report, filtered, with overdue flags
and suggestions of possible duplicates.

Duplicates are suggested by character-bigram Jaccard similarity of the report texts.
Chinese has no spaces to split words on, and most of its words are two characters, so
the set of adjacent character pairs ("楼上漏水" → 楼上, 上漏, 漏水) stands in for its words
without a segmenter or a dictionary; it shrugs off punctuation, word order and a few
changed characters, and needs nothing but the two texts. Candidates are few (one
compound, seven days either side), so they are scored in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
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
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.gateway.views import views_metadata
from services.gateway.views.pages import newest_first, page, wait_for_version
from shared.contracts.intake_reports import REPORT_EVENTS, report_document
from shared.db import upsert
from shared.events import Envelope

DUPLICATE_WINDOW = timedelta(days=7)
DUPLICATE_THRESHOLD = 0.2
"""Bigram Jaccard at or above this suggests the same matter (two phrasings of one leak score ~0.3)."""

reports = Table(
    "view_reports",
    views_metadata,
    Column("id", String(64), primary_key=True),
    Column("community_id", String(100), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("channel", String(40), nullable=False),
    Column("category", String(40), nullable=True),
    Column("compound", String(50), nullable=False),
    Column("text", Text, nullable=False),
    Column("overdue", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", JSON, nullable=False),
    Index("view_reports_listing", "community_id", "created_at", "id"),
    Index("view_reports_compound", "community_id", "compound", "created_at"),
)


async def project_reports(conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
    for envelope in envelopes:
        await project_report(conn, envelope)


async def project_report(conn: AsyncConnection, envelope: Envelope) -> None:
    report_id = envelope.data["report_id"]
    current = await conn.scalar(select(reports.c.document).where(reports.c.id == report_id))
    document = report_document(current, envelope)
    await upsert(
        conn,
        reports,
        {
            "id": report_id,
            "community_id": document["community_id"],
            "created_at": document["created_at"],
            "status": document["status"],
            "channel": document["channel"],
            "category": document["category"],
            "compound": document["place"]["compound"],
            "text": document["text"],
            "overdue": document["overdue"],
            "version": document["version"],
            "document": document,
        },
        key=("id",),
        update=("status", "category", "overdue", "version", "document"),
    )


PROJECTORS = {event_class.event_type: [project_reports] for event_class in REPORT_EVENTS}


async def get_report(engine: AsyncEngine, community_id: str, report_id: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        return await conn.scalar(
            select(reports.c.document).where(reports.c.id == report_id, reports.c.community_id == community_id)
        )


async def wait_for_report(
    engine: AsyncEngine, community_id: str, report_id: str, version: int, timeout_s: float
) -> dict[str, Any] | None:
    return await wait_for_version(engine, reports, report_id, community_id, version, timeout_s)


async def list_reports(
    engine: AsyncEngine,
    community_id: str,
    *,
    limit: int,
    cursor: str | None,
    status: str | None = None,
    channel: str | None = None,
    category: str | None = None,
    overdue: bool | None = None,
    compound: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first; `cursor` continues after the last row of the previous page."""
    query = select(reports.c.document, reports.c.created_at, reports.c.id).where(reports.c.community_id == community_id)
    for column, value in (
        (reports.c.status, status),
        (reports.c.channel, channel),
        (reports.c.category, category),
        (reports.c.overdue, overdue),
        (reports.c.compound, compound),
    ):
        if value is not None:
            query = query.where(column == value)
    query = newest_first(query, reports, cursor, limit)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    shown, next_cursor = page(rows, limit)
    return [row.document for row in shown], next_cursor


async def possible_duplicates(engine: AsyncEngine, community_id: str, report_id: str) -> list[dict[str, Any]] | None:
    """Reports of the same compound within seven days either side whose text is similar,
    most similar first, each with its `similarity`; None when the report is unknown."""
    report = await get_report(engine, community_id, report_id)
    if report is None:
        return None
    reported_at = datetime.fromisoformat(report["created_at"])
    query = select(reports.c.document).where(
        reports.c.community_id == community_id,
        reports.c.compound == report["place"]["compound"],
        reports.c.id != report_id,
        reports.c.created_at >= (reported_at - DUPLICATE_WINDOW).isoformat(),
        reports.c.created_at <= (reported_at + DUPLICATE_WINDOW).isoformat(),
    )
    async with engine.connect() as conn:
        candidates = (await conn.scalars(query)).all()
    scored = [(similarity(report["text"], other["text"]), other) for other in candidates]
    return [
        {**other, "similarity": round(score, 3)}
        for score, other in sorted(scored, key=lambda pair: -pair[0])
        if score >= DUPLICATE_THRESHOLD
    ]


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the texts' character bigrams (letters and digits only)."""
    first, second = _bigrams(a), _bigrams(b)
    if not first or not second:
        return 0.0
    return len(first & second) / len(first | second)


def _bigrams(text: str) -> set[str]:
    kept = "".join(character for character in text.lower() if character.isalnum())
    if len(kept) < 2:
        return {kept} if kept else set()
    return {kept[i : i + 2] for i in range(len(kept) - 1)}

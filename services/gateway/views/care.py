"""The keeping-in-touch read model: each household's revisit and each elderly resident's
contact with its deadline and overdue flag (from intake's `…Overdue` events), every visit
and contact as logged, and which reports a resident made. Feeds the scorecard, the worklist
and the profile.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    String,
    Table,
    Text,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.gateway.views import views_metadata
from services.gateway.views.households import households
from services.gateway.views.residents import residents
from shared.contracts.intake import HouseholdRegistered
from shared.contracts.intake_care import (
    CONTACT_STEP,
    REVISIT_STEP,
    ElderlyContactOverdue,
    ElderlyContactOverdueResolved,
    HouseholdRevisitOverdue,
    HouseholdRevisitOverdueResolved,
    HouseholdVisited,
    ResidentContacted,
    contact_due,
    revisit_due,
)
from shared.contracts.intake_reports import SentimentReported
from shared.contracts.intake_residents import (
    ResidentErased,
    ResidentLabelCleared,
    ResidentLabelled,
    ResidentMergedInto,
)
from shared.db import upsert, upsert_many
from shared.deadlines import CHINA
from shared.events import Envelope

care_deadlines = Table(
    "view_care_deadlines",
    views_metadata,
    Column("subject_id", String(64), primary_key=True),
    Column("step", String(40), primary_key=True),
    Column("community_id", String(100), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("overdue", Boolean, nullable=False),
    Column("last_done_on", String(10)),
    Index("view_care_deadlines_due", "community_id", "step", "due_at"),
)
"""A household's revisit (`subject_id` the household) or an elderly resident's contact."""

care_log = Table(
    "view_care_log",
    views_metadata,
    Column("event_id", String(64), primary_key=True),
    Column("community_id", String(100), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("done_on", String(10), nullable=False),
    Column("how", String(10), nullable=False),
    Column("done_by", String(50), nullable=False),
    Column("note", Text),
    Column("recorded_at", String(40), nullable=False),
    Index("view_care_log_subject", "subject_id", "done_on"),
)
"""Every household visit (`kind` visit) and contact with a resident (`kind` contact)."""

resident_reports = Table(
    "view_resident_reports",
    views_metadata,
    Column("report_id", String(64), primary_key=True),
    Column("resident_id", String(64), nullable=False),
    Index("view_resident_reports_resident", "resident_id"),
)


async def project_care(conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
    """A run of household registrations (a household import) opens its revisits in one
    statement; any other event is applied on its own, in order."""
    opened: list[dict[str, Any]] = []
    for envelope in envelopes:
        if envelope.type == HouseholdRegistered.event_type:
            opened.append(_registration_opens(envelope))
            continue
        await _open_all(conn, opened)
        opened = []
        await _PROJECTIONS[envelope.type](conn, envelope)
    await _open_all(conn, opened)


def _registration_opens(envelope: Envelope) -> dict[str, Any]:
    registered_on = envelope.occurred_at.astimezone(CHINA).date().isoformat()
    return _deadline(envelope, envelope.data["household_id"], REVISIT_STEP, revisit_due(envelope), registered_on)


async def _open_all(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await upsert_many(conn, care_deadlines, rows, key=("subject_id", "step"), update=("due_at", "overdue", "last_done_on"))


async def _opened(
    conn: AsyncConnection, envelope: Envelope, subject_id: str, step: str, due_at: datetime, done_on: str | None
) -> None:
    await _open_all(conn, [_deadline(envelope, subject_id, step, due_at, done_on)])


def _deadline(envelope: Envelope, subject_id: str, step: str, due_at: datetime, done_on: str | None) -> dict[str, Any]:
    return {"subject_id": subject_id, "step": step, "community_id": envelope.community_id,
            "due_at": due_at.astimezone(UTC), "overdue": False, "last_done_on": done_on}


async def _flag(conn: AsyncConnection, subject_id: str, step: str, overdue: bool) -> None:
    await conn.execute(
        update(care_deadlines)
        .where(care_deadlines.c.subject_id == subject_id, care_deadlines.c.step == step)
        .values(overdue=overdue)
    )


async def _ended(conn: AsyncConnection, envelope: Envelope) -> None:
    resident_id = envelope.data["resident_id"]
    await conn.execute(
        delete(care_deadlines).where(care_deadlines.c.subject_id == resident_id, care_deadlines.c.step == CONTACT_STEP)
    )


async def _registered(conn: AsyncConnection, envelope: Envelope) -> None:
    await _open_all(conn, [_registration_opens(envelope)])


async def _visited(conn: AsyncConnection, envelope: Envelope) -> None:
    data = envelope.data
    await _logged(conn, envelope, data["household_id"], "visit", data["visited_on"], "visit", data["visited_by"])
    latest = await _latest(conn, data["household_id"], "visit")
    due_at = datetime.fromisoformat(data["next_visit_due_at"])
    await _opened(conn, envelope, data["household_id"], REVISIT_STEP, due_at, latest)


async def _labelled(conn: AsyncConnection, envelope: Envelope) -> None:
    if envelope.data["label"] == "elderly_alone":
        resident_id = envelope.data["resident_id"]
        latest = await _latest(conn, resident_id, "contact")
        await _opened(conn, envelope, resident_id, CONTACT_STEP, contact_due(envelope), latest)


async def _label_cleared(conn: AsyncConnection, envelope: Envelope) -> None:
    if envelope.data["label"] == "elderly_alone":
        await _ended(conn, envelope)


async def _contacted(conn: AsyncConnection, envelope: Envelope) -> None:
    data = envelope.data
    await _logged(conn, envelope, data["resident_id"], "contact", data["contacted_on"], data["how"], data["contacted_by"])
    if data.get("next_contact_due_at"):
        latest = await _latest(conn, data["resident_id"], "contact")
        due_at = datetime.fromisoformat(data["next_contact_due_at"])
        await _opened(conn, envelope, data["resident_id"], CONTACT_STEP, due_at, latest)


async def _reported(conn: AsyncConnection, envelope: Envelope) -> None:
    reporter = envelope.data["reporter"]
    if reporter.get("kind") == "resident" and reporter.get("resident_id"):
        values = {"report_id": envelope.data["report_id"], "resident_id": reporter["resident_id"]}
        await upsert(conn, resident_reports, values, key=("report_id",), update=())


async def _logged(
    conn: AsyncConnection, envelope: Envelope, subject_id: str, kind: str, done_on: str, how: str, done_by: str
) -> None:
    values = {"event_id": str(envelope.event_id), "community_id": envelope.community_id, "subject_id": subject_id,
              "kind": kind, "done_on": done_on, "how": how, "done_by": done_by, "note": envelope.data.get("note"),
              "recorded_at": envelope.occurred_at.isoformat()}
    await upsert(conn, care_log, values, key=("event_id",), update=())


async def _latest(conn: AsyncConnection, subject_id: str, kind: str) -> str | None:
    done_on = care_log.c.done_on
    query = select(done_on).where(care_log.c.subject_id == subject_id, care_log.c.kind == kind)
    return await conn.scalar(query.order_by(done_on.desc()).limit(1))


_PROJECTIONS = {
    HouseholdRegistered.event_type: _registered,
    HouseholdVisited.event_type: _visited,
    HouseholdRevisitOverdue.event_type: lambda conn, e: _flag(conn, e.data["household_id"], REVISIT_STEP, True),
    HouseholdRevisitOverdueResolved.event_type: lambda conn, e: _flag(conn, e.data["household_id"], REVISIT_STEP, False),
    ResidentLabelled.event_type: _labelled,
    ResidentLabelCleared.event_type: _label_cleared,
    ResidentErased.event_type: _ended,
    ResidentMergedInto.event_type: _ended,
    ResidentContacted.event_type: _contacted,
    ElderlyContactOverdue.event_type: lambda conn, e: _flag(conn, e.data["resident_id"], CONTACT_STEP, True),
    ElderlyContactOverdueResolved.event_type: lambda conn, e: _flag(conn, e.data["resident_id"], CONTACT_STEP, False),
    SentimentReported.event_type: _reported,
}

PROJECTORS = {event_type: [project_care] for event_type in _PROJECTIONS}

# -- reading ------------------------------------------------------------------------------


async def household_figures(engine: AsyncEngine, community_id: str) -> tuple[int, int]:
    """All households of the community, and those whose revisit is overdue."""
    async with engine.connect() as conn:
        total = await conn.scalar(
            select(func.count()).select_from(households).where(households.c.community_id == community_id)
        )
        overdue = await conn.scalar(
            select(func.count()).select_from(care_deadlines).where(
                care_deadlines.c.community_id == community_id, care_deadlines.c.step == REVISIT_STEP,
                care_deadlines.c.overdue.is_(True),
            )
        )
    return total or 0, overdue or 0


async def deadlines(
    engine: AsyncEngine, community_id: str, step: str, *, overdue_only: bool = False, due_by: datetime | None = None
) -> list[dict[str, Any]]:
    """The step's rows with who they are for (a household's head, a resident's name), earliest due first."""
    named = households if step == REVISIT_STEP else residents
    name = named.c.head_name if step == REVISIT_STEP else named.c.name
    query = (
        select(care_deadlines, name.label("name"), named.c.compound, named.c.building)
        .join(named, named.c.id == care_deadlines.c.subject_id)
        .where(care_deadlines.c.community_id == community_id, care_deadlines.c.step == step)
        .order_by(care_deadlines.c.due_at, care_deadlines.c.subject_id)
    )
    if overdue_only:
        query = query.where(care_deadlines.c.overdue.is_(True))
    if due_by is not None:
        query = query.where(care_deadlines.c.due_at <= due_by.astimezone(UTC))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [{**row._asdict(), "due_at": _aware(row.due_at)} for row in rows]


async def deadline_of(engine: AsyncEngine, subject_id: str, step: str) -> dict[str, Any] | None:
    query = select(care_deadlines).where(care_deadlines.c.subject_id == subject_id, care_deadlines.c.step == step)
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return None if row is None else {**row._asdict(), "due_at": _aware(row.due_at)}


async def log_of(engine: AsyncEngine, subject_id: str, kind: str) -> list[dict[str, Any]]:
    """Visits to a household or contacts with a resident, latest first."""
    query = (
        select(
            care_log.c.done_on.label("on"), care_log.c.how, care_log.c.done_by.label("by"), care_log.c.note,
            care_log.c.recorded_at,
        )
        .where(care_log.c.subject_id == subject_id, care_log.c.kind == kind)
        .order_by(care_log.c.done_on.desc(), care_log.c.recorded_at.desc())
    )
    async with engine.connect() as conn:
        return [row._asdict() for row in (await conn.execute(query)).all()]


async def reports_by(engine: AsyncEngine, resident_ids: Sequence[str]) -> list[str]:
    query = select(resident_reports.c.report_id).where(resident_reports.c.resident_id.in_(list(resident_ids)))
    async with engine.connect() as conn:
        return list((await conn.scalars(query)).all())


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every one stored here is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def community_of_resident(engine: AsyncEngine, resident_id: str) -> str | None:
    async with engine.connect() as conn:
        return await conn.scalar(select(residents.c.community_id).where(residents.c.id == resident_id))

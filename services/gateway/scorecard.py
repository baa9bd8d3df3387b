"""The scorecard and the worklist, computed from the read models (mediation's parts in
`scorecard_mediation` and `worklist_mediation`).

"Surveyed" means a household registered or visited within its revisit period (a year by
default, per-community policy): every household whose revisit has not gone overdue. The
overdue flags come from intake's `…Overdue` events, so the scorecard, the worklist and the
records agree on what is late.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway import scorecard_mediation, worklist_mediation
from services.gateway.excerpts import excerpt
from services.gateway.views import care
from services.gateway.views.reports import reports
from shared.contracts.intake_care import CONTACT_STEP, REVISIT_STEP
from shared.deadlines import DeadlinePolicy

OPEN_STEPS = {"reported": ("triage", "reply"), "triaged": ("reply",)}
"""The deadlines still ahead of a report in each open status."""


async def community_scorecard(engine: AsyncEngine, community_id: str, now: datetime) -> dict[str, Any]:
    total, _ = await care.household_figures(engine, community_id)
    unvisited = await care.deadlines(engine, community_id, REVISIT_STEP, overdue_only=True)
    unvisited = [_household(row, now) for row in unvisited]
    late_reports = await _overdue_reports(engine, community_id, now)
    uncontacted = await care.deadlines(engine, community_id, CONTACT_STEP, overdue_only=True)
    uncontacted = [_resident(row, now) for row in uncontacted]
    surveyed = total - len(unvisited)
    return {
        "community_id": community_id,
        "as_of": now.isoformat(),
        "zero_blind_spots": {
            "households": total,
            "households_surveyed": surveyed,
            "surveyed_share": round(surveyed / total, 4) if total else None,
            "reports_past_deadline": len(late_reports),
            "breaches": {"households_not_revisited": unvisited, "reports_past_deadline": late_reports},
        },
        "zero_omission": {
            "elderly_contacts_overdue": len(uncontacted),
            "breaches": {"elderly_contacts_overdue": uncontacted},
        },
        "zero_escalation": await scorecard_mediation.zero_escalation(engine, community_id, now),
    }


FIGURES = (
    ("zero_blind_spots", "households"),
    ("zero_blind_spots", "households_surveyed"),
    ("zero_blind_spots", "reports_past_deadline"),
    ("zero_omission", "elderly_contacts_overdue"),
    *(("zero_escalation", figure) for figure in scorecard_mediation.FIGURES),
)


def rolled_up(scorecards: list[dict[str, Any]], names: dict[str, str], now: datetime) -> dict[str, Any]:
    """Each community's figures (breaches are listed on each community's own scorecard) and their sums."""
    totals: dict[str, dict[str, Any]] = {"zero_blind_spots": {}, "zero_omission": {}, "zero_escalation": {}}
    for pillar, figure in FIGURES:
        totals[pillar][figure] = sum(card[pillar][figure] for card in scorecards)
    spots = totals["zero_blind_spots"]
    spots["surveyed_share"] = round(spots["households_surveyed"] / spots["households"], 4) if spots["households"] else None
    return {
        "as_of": now.isoformat(),
        "totals": totals,
        "communities": [
            {
                "community_id": card["community_id"],
                "name": names[card["community_id"]],
                **{pillar: {k: v for k, v in card[pillar].items() if k != "breaches"} for pillar in totals},
            }
            for card in scorecards
        ],
    }


async def worklist(
    engine: AsyncEngine, community_id: str, now: datetime, within: timedelta, mediation_policy: DeadlinePolicy
) -> list[dict[str, Any]]:
    """Intake's and mediation's items overdue or due by `now + within`, earliest due first."""
    horizon = now + within
    items = [
        {**_household(row, now), "kind": "household_revisit", "id": row["subject_id"]}
        for row in await care.deadlines(engine, community_id, REVISIT_STEP, due_by=horizon)
    ]
    items += [
        {**_resident(row, now), "kind": "elderly_contact", "id": row["subject_id"]}
        for row in await care.deadlines(engine, community_id, CONTACT_STEP, due_by=horizon)
    ]
    for document in await _open_reports(engine, community_id):
        for step in OPEN_STEPS[document["status"]]:
            deadline = document["deadlines"][step]
            due_at = datetime.fromisoformat(deadline["due_at"])
            if due_at <= horizon:
                items.append({
                    "kind": f"report_{step}", "id": document["id"], "report_id": document["id"],
                    "text_excerpt": excerpt(document["text"]), "compound": document["place"]["compound"],
                    "due_at": due_at.isoformat(), "overdue": deadline["overdue"], "overdue_days": _days_late(due_at, now),
                })
    items += await worklist_mediation.items(engine, community_id, now, horizon, mediation_policy)
    return sorted(items, key=lambda item: (item["due_at"], item["kind"], item["id"]))


def _household(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "household_id": row["subject_id"], "head_name": row["name"], "compound": row["compound"],
        "building": row["building"], "last_visited_on": row["last_done_on"], "due_at": row["due_at"].isoformat(),
        "overdue": row["overdue"], "overdue_days": _days_late(row["due_at"], now),
    }


def _resident(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "resident_id": row["subject_id"], "name": row["name"], "compound": row["compound"],
        "building": row["building"], "last_contacted_on": row["last_done_on"], "due_at": row["due_at"].isoformat(),
        "overdue": row["overdue"], "overdue_days": _days_late(row["due_at"], now),
    }


async def _overdue_reports(engine: AsyncEngine, community_id: str, now: datetime) -> list[dict[str, Any]]:
    query = (
        select(reports.c.document)
        .where(reports.c.community_id == community_id, reports.c.overdue.is_(True))
        .order_by(reports.c.created_at, reports.c.id)
    )
    async with engine.connect() as conn:
        documents = (await conn.scalars(query)).all()
    breaches = []
    for document in documents:
        steps = [step for step, deadline in document["deadlines"].items() if deadline["overdue"]]
        due_at = min(datetime.fromisoformat(document["deadlines"][step]["due_at"]) for step in steps)
        breaches.append({
            "report_id": document["id"], "text_excerpt": excerpt(document["text"]),
            "compound": document["place"]["compound"], "status": document["status"], "overdue_steps": steps,
            "due_at": due_at.isoformat(), "overdue_days": _days_late(due_at, now),
        })
    return breaches


async def _open_reports(engine: AsyncEngine, community_id: str) -> list[dict[str, Any]]:
    query = select(reports.c.document).where(
        reports.c.community_id == community_id, reports.c.status.in_(tuple(OPEN_STEPS))
    )
    async with engine.connect() as conn:
        return list((await conn.scalars(query)).all())




def _days_late(due_at: datetime, now: datetime) -> int:
    """Whole days past the deadline (0 on the day it passed or before)."""
    return max((now - due_at).days, 0)

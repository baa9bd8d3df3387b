"""Mediation's part of the worklist: every open case's deadline that is overdue or falls due
soon, for the mediators the case names.

The case's events do not carry their due times (mediation's worker computes them from the
policy, `services/mediation/deadlines.py`): here they are computed the same way, from the
case document, the moment its agreement was recorded (`views.dispute_index`) and the same
setting (`FIVEZERO_DEADLINE_POLICY`). A step mediation has recorded overdue keeps the due time
of its `…Overdue` event, so the worklist and the case agree on what is late. Which steps are
still open follows the case's status, as mediation's judge decides it: a step made moot (a
transferred case's first session, say) is no longer listed. A handover by the street centre
starts the steps again, as it does in mediation: assigned back, acceptance is counted from
the assignment; taken over, first session and resolution from the take-over.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway.excerpts import excerpt
from services.gateway.views.dispute_index import agreements_recorded, resident_names
from services.gateway.views.disputes import disputes
from shared.contracts.mediation_deadlines import (
    ACCEPT_STEP,
    CLAUSE_STEP,
    DEADLINE_DEFAULTS,
    FIRST_FOLLOW_UP_STEP,
    FIRST_SESSION_STEP,
    RESOLUTION_STEP,
    STEP_LABELS,
    clause_due_at,
    clause_step,
)
from shared.deadlines import DeadlinePolicy

JUDICIAL_CONFIRMATION = "dispute.judicial_confirmation"
LABELS = {**{step: zh for step, (zh, _) in STEP_LABELS.items()},
          JUDICIAL_CONFIRMATION: "协议生效后 30 日内可共同申请司法确认（第三十三条）"}
KINDS = {
    ACCEPT_STEP: "dispute_accept",
    FIRST_SESSION_STEP: "dispute_first_session",
    RESOLUTION_STEP: "dispute_resolution",
    FIRST_FOLLOW_UP_STEP: "dispute_first_follow_up",
    CLAUSE_STEP: "dispute_clause",
    JUDICIAL_CONFIRMATION: "dispute_judicial_confirmation",
}
STARTED_BY_ACCEPTANCE = {FIRST_SESSION_STEP: ("accepted", "taken_over", "investigating"),
                         RESOLUTION_STEP: ("accepted", "taken_over", "investigating", "in_mediation")}
"""The statuses in which each step counted from the acceptance (or the street's take-over)
is still unmet."""


def deadline_policy(settings: Any) -> DeadlinePolicy:
    """Mediation's defaults under the same per-community setting its worker reads."""
    return DeadlinePolicy(DEADLINE_DEFAULTS, settings.deadline_policy)


def open_steps(
    document: dict[str, Any], agreed_at: datetime | None, policy: DeadlinePolicy, now: datetime
) -> list[dict[str, Any]]:
    """The case's steps still to be met, each with its due time and whether it is late."""
    community_id, status = document["community_id"], document["status"]
    handed_over = _last_handover(document)
    recorded = {
        (entry["step"], entry.get("clause_no")): datetime.fromisoformat(entry["due_at"])
        for entry in (document.get("deadlines") or {}).get("overdue", ())
        if not entry["resolved_at"] and not entry.get("moot_at")
        and (handed_over is None or datetime.fromisoformat(entry["at"]) >= handed_over)
    }

    def step(name: str, due_at: datetime, clause: dict[str, Any] | None = None) -> dict[str, Any]:
        key = (clause_step(clause["clause_no"]), clause["clause_no"]) if clause else (name, None)
        due_at = recorded.get(key, due_at)
        return {"step": name, "label": LABELS[name], "due_at": due_at, "overdue": key in recorded or due_at <= now,
                "clause": clause}

    steps = []
    if status == "registered":
        registered = _latest(document["created_at"], *(entry["at"] for entry in document.get("assigned_back") or ()))
        steps.append(step(ACCEPT_STEP, policy.due(community_id, ACCEPT_STEP, registered)))
    taken_over = (document.get("taken_over") or {}).get("at")
    accepted = [moment for moment in (document.get("accepted_at"), taken_over) if moment]
    for name, statuses in STARTED_BY_ACCEPTANCE.items():
        if status in statuses and accepted:
            steps.append(step(name, policy.due(community_id, name, _latest(*accepted))))
    agreement = document.get("agreement")
    if status == "agreed" and agreement:
        if not document["follow_ups"] and agreed_at is not None:
            steps.append(step(FIRST_FOLLOW_UP_STEP, policy.due(community_id, FIRST_FOLLOW_UP_STEP, agreed_at)))
        steps += [step(CLAUSE_STEP, clause_due_at(clause["due_on"]), clause)
                  for clause in agreement["clauses"] if not clause["fulfilled_on"]]
        window_ends = clause_due_at(agreement["judicial_confirmation_by"])
        if now < window_ends:  # a window that has closed is nothing left to do
            steps.append({"step": JUDICIAL_CONFIRMATION, "label": LABELS[JUDICIAL_CONFIRMATION],
                          "due_at": window_ends, "overdue": False, "clause": None})
    return steps


def _latest(*moments: str) -> datetime:
    return max(datetime.fromisoformat(moment) for moment in moments)


def _last_handover(document: dict[str, Any]) -> datetime | None:
    """When the street last took the case over or assigned it back: the steps start again there."""
    moments = [entry["at"] for entry in document.get("assigned_back") or ()]
    if document.get("taken_over"):
        moments.append(document["taken_over"]["at"])
    return _latest(*moments) if moments else None


async def open_cases_steps(
    engine: AsyncEngine, documents: Sequence[dict[str, Any]], policy: DeadlinePolicy, now: datetime
) -> dict[str, list[dict[str, Any]]]:
    """`open_steps` of each case, by id."""
    agreed = await agreements_recorded(engine, [d["id"] for d in documents if d.get("agreement")])
    return {document["id"]: open_steps(document, agreed.get(document["id"]), policy, now) for document in documents}


async def party_names(engine: AsyncEngine, documents: Iterable[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """Each party's name as the case records it, or the registry's for a resident named by id alone."""
    documents = list(documents)
    unnamed = {p["resident_id"] for d in documents for p in d["parties"] if not p.get("name") and p.get("resident_id")}
    registry = await resident_names(engine, sorted(unnamed))
    return {
        (document["id"], party["party_id"]): party.get("name") or registry.get(party.get("resident_id") or "")
        or party.get("resident_id") or ""
        for document in documents
        for party in document["parties"]
    }


async def items(
    engine: AsyncEngine, community_id: str, now: datetime, horizon: datetime, policy: DeadlinePolicy
) -> list[dict[str, Any]]:
    """The worklist items of the community's open cases: overdue, or due by `horizon`."""
    query = select(disputes.c.document).where(disputes.c.community_id == community_id, disputes.c.status != "closed")
    async with engine.connect() as conn:
        documents = list((await conn.scalars(query)).all())
    steps = await open_cases_steps(engine, documents, policy, now)
    names = await party_names(engine, documents)
    listed = []
    for document in documents:
        for step in steps[document["id"]]:
            if step["overdue"] or step["due_at"] <= horizon:
                listed.append(_item(document, step, names, now))
    return listed


def _item(document: dict[str, Any], step: dict[str, Any], names: dict[tuple[str, str], str], now: datetime) -> dict[str, Any]:
    cause, place, case_id = document["dispute_cause"], document.get("place") or {}, document["id"]
    item = {
        "kind": KINDS[step["step"]], "id": case_id, "dispute_id": case_id, "step_label": step["label"],
        "parties": [names[(case_id, party["party_id"])] for party in document["parties"]],
        "category": document["category"], "category_label": document["category_label"],
        "cause_excerpt": excerpt(cause),
        "compound": place.get("compound"), "status": document["status"], "mediators": document["mediators"],
        "due_at": step["due_at"].astimezone(UTC).isoformat(), "overdue": step["overdue"],
        "overdue_days": max((now - step["due_at"]).days, 0),
    }
    if clause := step["clause"]:
        item.update(clause_no=clause["clause_no"], obligation=clause["obligation"], due_on=clause["due_on"],
                    party_id=clause["party_id"], party=names.get((case_id, clause["party_id"])))
    return item

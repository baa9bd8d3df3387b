"""Mediation's part of the resident profile: the cases in which the resident (or a record
merged into theirs) is a party, newest first, found through `views.dispute_index`; only cases
of communities the caller may see."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway.views.dispute_index import cases_of
from services.gateway.worklist_mediation import open_cases_steps, party_names
from shared.contracts.mediation import OUTCOMES
from shared.deadlines import CHINA, DeadlinePolicy
from shared.identity import Identity


async def mediation_part(
    engine: AsyncEngine, identity: Identity, resident_ids: Sequence[str], policy: DeadlinePolicy, now: datetime
) -> dict[str, Any]:
    found = [(document, mine) for document, mine in await cases_of(engine, resident_ids)
             if identity.can_see(document["community_id"])]
    documents = [document for document, _ in found]
    steps = await open_cases_steps(engine, documents, policy, now)
    names = await party_names(engine, documents)
    return {"cases": [_case(document, mine, steps[document["id"]], names) for document, mine in found]}


def _case(
    document: dict[str, Any], mine: set[str], steps: list[dict[str, Any]], names: dict[tuple[str, str], str]
) -> dict[str, Any]:
    case_id, parties = document["id"], document["parties"]
    agreement = document.get("agreement") or {"clauses": []}
    outcome = document["outcome"]
    return {
        "id": case_id,
        "community_id": document["community_id"],
        "registered_on": datetime.fromisoformat(document["created_at"]).astimezone(CHINA).date().isoformat(),
        "category": document["category"],
        "category_label": document["category_label"],
        "dispute_cause": document["dispute_cause"],
        "status": document["status"],
        "status_label": document["status_label"],
        "outcome": outcome,
        "outcome_label": OUTCOMES[outcome][0] if outcome in OUTCOMES else None,
        "side": next(party["side"] for party in parties if party["party_id"] in mine),
        "other_parties": [{"side": party["side"], "name": names[(case_id, party["party_id"])]}
                          for party in parties if party["party_id"] not in mine],
        "escalation_risk": bool((document.get("escalation_risk") or {}).get("flagged")),
        "overdue_steps": [_overdue(step) for step in steps if step["overdue"]],
        "clauses_owed": [
            {"clause_no": clause["clause_no"], "obligation": clause["obligation"], "due_on": clause["due_on"],
             "fulfilled": clause["fulfilled_on"] is not None, "fulfilled_on": clause["fulfilled_on"]}
            for clause in agreement["clauses"]
            if clause["party_id"] in mine
        ],
    }


def _overdue(step: dict[str, Any]) -> dict[str, Any]:
    clause = step["clause"]
    return {"step_label": step["label"], "due_at": step["due_at"].astimezone(UTC).isoformat(),
            **({"clause_no": clause["clause_no"]} if clause else {})}

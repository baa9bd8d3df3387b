"""The "zero escalation" (矛盾纠纷“零激化”) part of the scorecard, from the case read model:

- `open_cases`: cases not yet closed (a transferred case stays open until closed);
- `cases_past_deadline`: open cases with a step overdue now (`…Overdue` not yet resolved);
- `resolved_locally` and `transferred`: cases that ended in an agreement in the community,
  and those sent to the street's grand-mediation centre (closed or not) that the street did
  not assign back since;
- `agreements_awaiting_follow_up`: agreed cases with no follow-up visit yet, or with a
  clause not yet fulfilled;
- `repeat_dispute_flags`: cases registered within the last 12 months flagged as a repeat
  dispute (same parties or same place, `views.dispute_watch`).

Each breach is listed by case, with its parties' names as the case records them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.gateway.excerpts import excerpt
from services.gateway.views.dispute_watch import REPEAT_WINDOW
from services.gateway.views.disputes import disputes

FIGURES = (
    "open_cases",
    "cases_past_deadline",
    "resolved_locally",
    "transferred",
    "agreements_awaiting_follow_up",
    "repeat_dispute_flags",
)


async def zero_escalation(engine: AsyncEngine, community_id: str, now: datetime) -> dict[str, Any]:
    query = select(disputes.c.document).where(disputes.c.community_id == community_id).order_by(
        disputes.c.created_at, disputes.c.id
    )
    async with engine.connect() as conn:
        documents = list((await conn.scalars(query)).all())
    open_cases = [document for document in documents if document["status"] != "closed"]
    late = [
        {**_case(document), "overdue": (document.get("deadlines") or {}).get("overdue_now", [])}
        for document in open_cases
        if (document.get("deadlines") or {}).get("overdue_now")
    ]
    awaiting = [
        {**_case(document), "follow_ups": len(document["follow_ups"]),
         "unfulfilled_clauses": [c["clause_no"] for c in document["agreement"]["clauses"] if not c["fulfilled_on"]]}
        for document in documents
        if document["status"] == "agreed" and (not document["follow_ups"] or not document["agreement"]["fulfilled"])
    ]
    since = now - REPEAT_WINDOW
    repeats = [
        {**_case(document), "reasons": document["escalation_risk"]["labels"],
         "earlier_cases": [earlier["id"] for earlier in document["escalation_risk"]["earlier_cases"]]}
        for document in documents
        if (document.get("escalation_risk") or {}).get("flagged") and datetime.fromisoformat(document["created_at"]) >= since
    ]
    return {
        "open_cases": len(open_cases),
        "cases_past_deadline": len(late),
        "resolved_locally": sum(document["outcome"] == "resolved" for document in documents),
        "transferred": sum(_with_the_street(document) for document in documents),
        "agreements_awaiting_follow_up": len(awaiting),
        "repeat_dispute_flags": len(repeats),
        "breaches": {
            "cases_past_deadline": late,
            "agreements_awaiting_follow_up": awaiting,
            "repeat_disputes": repeats,
        },
    }


def _with_the_street(document: dict[str, Any]) -> bool:
    """Transferred, and not assigned back to the community after its last transfer."""
    transfer = document["transfer"]
    assignments = document.get("assigned_back") or ()
    return transfer is not None and not any(assignment["at"] > transfer["at"] for assignment in assignments)


def _case(document: dict[str, Any]) -> dict[str, Any]:
    cause = document["dispute_cause"]
    place = document.get("place") or {}
    return {
        "dispute_id": document["id"],
        "cause_excerpt": excerpt(cause),
        "parties": [party.get("name") or party.get("resident_id") for party in document["parties"]],
        "compound": place.get("compound"),
        "status": document["status"],
        "registered_at": document["created_at"],
    }

"""What the case read model adds to each case from outside the case workflow itself:

- **Deadlines** (`document["deadlines"]`): every `DisputeDeadlineOverdue` with its step in
  words, when it was due, when it was recorded and, once met late, when it was resolved, or
  when a transfer or an assignment back made it moot (`moot_at`); `overdue_now` the steps
  still overdue; the art. 33 reminder when it was sent.
- **Early warning** (`document["escalation_risk"]`): a dispute registered within 12 months
  of an earlier case of the same community between the same parties (a party of each side
  in common: the same resident id, or the same name for outsiders) or at the same place (the
  same compound and building) is flagged as an escalation risk, naming the earlier cases.

Why in the read model rather than an event of mediation's: the flag compares a case with
the community's other cases, which only a read model sees together; mediation's streams
are one per case, with no index over parties or places, and a register command that read
all of them would be slow and racy (two related cases registered at once would each miss
the other). Here cases are projected one after another, in the stream's order, so a
rebuild gives the same flags; and the flag is a warning, not a fact anyone acts against.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.gateway.views.disputes import disputes
from shared.contracts.mediation import DisputeRegistered
from shared.contracts.mediation_changes import DisputeDetailsAmended
from shared.contracts.mediation_deadlines import (
    DisputeDeadlineOverdue,
    DisputeDeadlineOverdueResolved,
    MOOT_AFTER,
    JudicialConfirmationReminded,
    step_label,
)
from shared.events import Envelope

REPEAT_WINDOW = timedelta(days=365)

REASONS: dict[str, tuple[str, str]] = {
    "same_parties": ("同一当事人再次发生纠纷", "the same parties again"),
    "same_place": ("同一地点再次发生纠纷", "the same place again"),
}


def _empty_deadlines() -> dict[str, Any]:
    return {"overdue": [], "overdue_now": [], "judicial_confirmation_reminded_at": None}


async def project_deadlines(conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
    for envelope in envelopes:
        dispute_id = envelope.data["dispute_id"]
        document = await conn.scalar(select(disputes.c.document).where(disputes.c.id == dispute_id))
        if not document:
            continue
        watched = {**_empty_deadlines(), **(document.get("deadlines") or {})}
        at = envelope.occurred_at.isoformat()
        data = envelope.data
        if envelope.type == DisputeDeadlineOverdue.event_type:
            entry = {"step": data["step"], "clause_no": data.get("clause_no"),
                     "label": step_label(data["step"], data.get("clause_no")),
                     "due_at": data["due_at"], "at": at, "resolved_at": None}
            # A step may go overdue again once the street hands the case over or back.
            if not any(_same(old, entry) and not old["resolved_at"] and not old.get("moot_at") for old in watched["overdue"]):
                watched["overdue"] = [*watched["overdue"], entry]
        elif envelope.type == DisputeDeadlineOverdueResolved.event_type:
            watched["overdue"] = [
                {**old, "resolved_at": old["resolved_at"] or at} if _same(old, data) and not old.get("moot_at") else old
                for old in watched["overdue"]
            ]
        elif envelope.type == JudicialConfirmationReminded.event_type:
            watched["judicial_confirmation_reminded_at"] = at
            watched["judicial_confirmation_by"] = data["confirm_by"]
        elif envelope.type in MOOT_AFTER:
            moot = MOOT_AFTER[envelope.type]
            watched["overdue"] = [
                {**old, "moot_at": at} if old["step"] in moot and not old["resolved_at"] and not old.get("moot_at") else old
                for old in watched["overdue"]
            ]
        watched["overdue_now"] = [
            entry["label"] for entry in watched["overdue"] if not entry["resolved_at"] and not entry.get("moot_at")
        ]
        version = max(document.get("version", 0), envelope.version)
        document = {**document, "deadlines": watched, "version": version}
        await conn.execute(
            update(disputes).where(disputes.c.id == dispute_id).values(document=document, version=version)
        )


def _same(entry: dict[str, Any], data: dict[str, Any]) -> bool:
    return entry["step"] == data["step"] and entry.get("clause_no") == data.get("clause_no")


def party_key(party: dict[str, Any]) -> tuple[str, str] | None:
    """Who a party is, for comparing cases: the resident, or an outsider by name."""
    if party.get("resident_id"):
        return ("resident", party["resident_id"])
    if party.get("name"):
        return ("name", party["name"].strip())
    return None


def _sides(document: dict[str, Any]) -> tuple[set, set]:
    sides: dict[str, set] = {"a": set(), "b": set()}
    for party in document.get("parties") or ():
        key = party_key(party)
        if key is not None:
            sides[party["side"]].add(key)
    return sides["a"], sides["b"]


def _place(document: dict[str, Any]) -> tuple[str, str | None] | None:
    place = document.get("place")
    return (place["compound"].strip(), (place.get("building") or "").strip() or None) if place else None


def repeat_reasons(case: dict[str, Any], earlier: dict[str, Any]) -> list[str]:
    """Why `earlier` makes `case` a repeat dispute (none: it does not)."""
    reasons = []
    a, b = _sides(case)
    earlier_a, earlier_b = _sides(earlier)
    if (a & earlier_a and b & earlier_b) or (a & earlier_b and b & earlier_a):
        reasons.append("same_parties")
    if _place(case) is not None and _place(case) == _place(earlier):
        reasons.append("same_place")
    return reasons


async def flag_repeats(conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
    for envelope in envelopes:
        dispute_id = envelope.data["dispute_id"]
        row = (await conn.execute(select(disputes.c.document, disputes.c.created_at).where(disputes.c.id == dispute_id))).first()
        if row is None:
            continue
        case = row.document
        registered_at = datetime.fromisoformat(row.created_at)
        since = registered_at - REPEAT_WINDOW
        candidates = (
            await conn.execute(
                select(disputes.c.id, disputes.c.document).where(
                    disputes.c.community_id == case["community_id"], disputes.c.id != dispute_id
                )
            )
        ).all()
        earlier = []
        for candidate in candidates:
            created = datetime.fromisoformat(candidate.document["created_at"])
            if not since <= created <= registered_at:
                continue
            reasons = repeat_reasons(case, candidate.document)
            if reasons:
                earlier.append({"id": candidate.id, "created_at": candidate.document["created_at"],
                                "dispute_cause": candidate.document["dispute_cause"],
                                "status": candidate.document["status"], "reasons": reasons})
        earlier.sort(key=lambda entry: entry["created_at"])
        reasons = sorted({reason for entry in earlier for reason in entry["reasons"]})
        risk = (
            {"flagged": True, "reasons": reasons, "labels": [REASONS[reason][0] for reason in reasons],
             "earlier_cases": earlier}
            if earlier else {"flagged": False, "reasons": [], "labels": [], "earlier_cases": []}
        )
        await conn.execute(
            update(disputes).where(disputes.c.id == dispute_id).values(document={**case, "escalation_risk": risk})
        )


PROJECTORS = {
    DisputeRegistered.event_type: [flag_repeats],
    DisputeDetailsAmended.event_type: [flag_repeats],
    DisputeDeadlineOverdue.event_type: [project_deadlines],
    DisputeDeadlineOverdueResolved.event_type: [project_deadlines],
    JudicialConfirmationReminded.event_type: [project_deadlines],
    **{event_type: [project_deadlines] for event_type in MOOT_AFTER},
}

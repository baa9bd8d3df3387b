"""What the case's events mean for its deadlines, and the judge of a step gone overdue.
Pure, no I/O: the tracker's rules (`services.mediation.deadlines`), the scheduler's handler
and the command handlers all ask here, so that they never disagree about which step an
event meets (a row the rules leave open while the judge refuses it would be polled forever).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from services.mediation.domain.disputes import Dispute
from shared.contracts.mediation import (
    AgreementFollowedUp,
    AgreementReached,
    DisputeAccepted,
    DisputeClosed,
    DisputeTransferred,
    MediationSessionHeld,
)
from shared.contracts.mediation_changes import HANDOVERS
from shared.contracts.mediation_deadlines import (
    ACCEPT_STEP,
    FIRST_FOLLOW_UP_STEP,
    FIRST_SESSION_STEP,
    MAX_CLAUSES,
    REMINDER_STEP,
    RESOLUTION_STEP,
    DisputeDeadlineOverdue,
    DisputeDeadlineOverdueResolved,
    MOOT_AFTER,
    JudicialConfirmationReminded,
    clause_of,
    clause_step,
)
from shared.events import DomainEvent, Envelope


def steps_met(kind: str, data: dict[str, Any]) -> list[str]:
    """The steps an event really meets (a late one gets its `…OverdueResolved`)."""
    if kind == DisputeAccepted.event_type:
        return [ACCEPT_STEP]
    if kind == MediationSessionHeld.event_type:
        return [FIRST_SESSION_STEP]
    if kind == AgreementReached.event_type:
        return [RESOLUTION_STEP]
    if kind == DisputeTransferred.event_type:
        return [RESOLUTION_STEP]
    if kind == AgreementFollowedUp.event_type:
        return [FIRST_FOLLOW_UP_STEP, *(clause_step(number) for number in data.get("fulfilled_clauses", ()))]
    return []


def steps_ended(kind: str, data: dict[str, Any]) -> list[str]:
    """The steps an event makes moot without meeting them: no longer watched, never resolved."""
    if kind in MOOT_AFTER:
        return list(MOOT_AFTER[kind])
    if kind == DisputeClosed.event_type:
        # A case refused before acceptance, or closed with clauses unfulfilled (remarks say why).
        clauses = [clause_step(number) for number in range(1, MAX_CLAUSES + 1)]
        return [ACCEPT_STEP, FIRST_SESSION_STEP, RESOLUTION_STEP, FIRST_FOLLOW_UP_STEP, *clauses]
    return []


def open_overdues(history: Iterable[Envelope]) -> set[tuple[str, int | None]]:
    """(step, clause) overdue and not resolved yet."""
    current: set[tuple[str, int | None]] = set()
    for envelope in history:
        key = (envelope.data.get("step"), envelope.data.get("clause_no"))
        if envelope.type == DisputeDeadlineOverdue.event_type:
            current.add(key)
        elif envelope.type == DisputeDeadlineOverdueResolved.event_type:
            current.discard(key)
        elif envelope.type in MOOT_AFTER:
            current -= {(step, None) for step in MOOT_AFTER[envelope.type]}
    return current


def ever_overdue(history: Iterable[Envelope]) -> set[tuple[str, int | None]]:
    return {
        (envelope.data["step"], envelope.data.get("clause_no"))
        for envelope in history
        if envelope.type == DisputeDeadlineOverdue.event_type
    }


def since_last_handover(history: list[Envelope]) -> list[Envelope]:
    """The case's history since the street took it over or assigned it back, if it did: the
    steps start again there, and each may go overdue again once."""
    last = max((index for index, envelope in enumerate(history) if envelope.type in HANDOVERS), default=-1)
    return history[last + 1:]


def _reminded(history: Iterable[Envelope]) -> bool:
    return any(envelope.type == JudicialConfirmationReminded.event_type for envelope in history)


def _unmet(state: Dispute, step: str) -> bool:
    clause_no = clause_of(step)
    if clause_no is not None:
        return state.status == "agreed" and clause_no in state.clauses and clause_no not in state.fulfilled
    return {
        ACCEPT_STEP: state.status == "registered",
        FIRST_SESSION_STEP: state.status in ("accepted", "taken_over", "investigating"),
        RESOLUTION_STEP: state.status in ("accepted", "taken_over", "investigating", "in_mediation"),
        FIRST_FOLLOW_UP_STEP: state.status == "agreed" and state.follow_ups == 0,
    }.get(step, False)


def overdue(
    state: Dispute, history: list[Envelope], dispute_id: str, step: str, due_at: datetime, now: datetime
) -> list[DomainEvent]:
    """The step's event, once, if it is still unmet at `now`, past `due_at`: the
    `…Overdue`, or for the art. 33 reminder the reminder itself."""
    if not state.exists or now < due_at:
        return []
    if step == REMINDER_STEP:
        agreement = state.document.get("agreement")
        if agreement is None or _reminded(history):
            return []
        confirm_by = date.fromisoformat(str(agreement["judicial_confirmation_by"]))
        return [JudicialConfirmationReminded(dispute_id=dispute_id, confirm_by=confirm_by)]
    clause_no = clause_of(step)
    if not _unmet(state, step) or (step, clause_no) in ever_overdue(since_last_handover(history)):
        return []
    return [DisputeDeadlineOverdue(dispute_id=dispute_id, step=step, due_at=due_at, clause_no=clause_no)]


def resolutions(history: list[Envelope], events: list[DomainEvent]) -> list[DomainEvent]:
    """`…OverdueResolved` for each overdue step that `events` (about to be stored) meet."""
    pending = open_overdues(history)
    resolved: list[DomainEvent] = []
    for domain_event in events:
        for step in steps_met(domain_event.event_type, domain_event.model_dump(mode="json")):
            key = (step, clause_of(step))
            if key in pending:
                pending.discard(key)
                resolved.append(
                    DisputeDeadlineOverdueResolved(dispute_id=_dispute_id(domain_event), step=step, clause_no=key[1])
                )
    return resolved


def _dispute_id(domain_event: DomainEvent) -> str:
    return domain_event.dispute_id  # type: ignore[attr-defined]

"""Keeping in touch: household visits and contacts with residents, and the overdue of each.
Pure, no I/O.

Each aggregate here is replayed from the household's or the resident's own stream, beside
`households.Household` and `residents.Resident`, and judges only its deadline: the
scheduler's overdue is recorded once per due time, and a visit or contact made after it
records the resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from services.intake.domain import DomainError
from services.intake.domain.households import HouseholdNotFound
from services.intake.domain.residents import ResidentGone, ResidentNotFound
from shared.contracts.intake import HouseholdRegistered
from shared.contracts.intake_care import (
    ElderlyContactOverdue,
    ElderlyContactOverdueResolved,
    HouseholdRevisitOverdue,
    HouseholdRevisitOverdueResolved,
    HouseholdVisited,
    RecordContact,
    RecordHouseholdVisit,
    ResidentContacted,
    contact_due,
    revisit_due,
    start_of,
)
from shared.contracts.intake_residents import (
    ResidentErased,
    ResidentLabelCleared,
    ResidentLabelled,
    ResidentMergedInto,
    ResidentRegistered,
)
from shared.events import DomainEvent, Envelope

ELDERLY = "elderly_alone"


class DateInTheFuture(DomainError):
    code = "validation_failed"

    def __init__(self, day: date):
        super().__init__(f"日期 {day} 晚于今天", f"the date {day} is in the future")


# -- a household's visits -----------------------------------------------------------------


@dataclass(frozen=True)
class HouseholdCare:
    version: int = 0
    community_id: str | None = None
    last_visited_on: str | None = None
    revisit_due_at: datetime | None = None
    overdue_for: datetime | None = None
    """The due time whose overdue is recorded and not yet resolved by a visit."""


def evolve_household(state: HouseholdCare, envelope: Envelope) -> HouseholdCare:
    data = envelope.data
    state = replace(state, version=envelope.version, community_id=envelope.community_id)
    match envelope.type:
        case HouseholdRegistered.event_type:
            return replace(state, revisit_due_at=revisit_due(envelope))
        case HouseholdVisited.event_type:
            latest = max(state.last_visited_on or "", data["visited_on"])
            return replace(state, last_visited_on=latest, revisit_due_at=datetime.fromisoformat(data["next_visit_due_at"]))
        case HouseholdRevisitOverdue.event_type:
            return replace(state, overdue_for=datetime.fromisoformat(data["due_at"]))
        case HouseholdRevisitOverdueResolved.event_type:
            return replace(state, overdue_for=None)
    return state


def replay_household(envelopes: list[Envelope]) -> HouseholdCare:
    state = HouseholdCare()
    for envelope in envelopes:
        state = evolve_household(state, envelope)
    return state


def visit(
    state: HouseholdCare, household_id: str, community_id: str, command: RecordHouseholdVisit, today: date,
    period: timedelta,
) -> list[DomainEvent]:
    """The visit; the next one is due a period after the latest visit (an older visit typed
    in late does not pull the deadline back)."""
    if state.version == 0 or state.community_id != community_id:
        raise HouseholdNotFound(household_id)
    visited_on = _not_future(command.visited_on or today, today)
    latest = max(date.fromisoformat(state.last_visited_on or visited_on.isoformat()), visited_on)
    visited = HouseholdVisited(
        household_id=household_id,
        visited_on=visited_on.isoformat(),
        visited_by=command.visited_by,
        note=command.note,
        next_visit_due_at=start_of(latest) + period,
    )
    late = [HouseholdRevisitOverdueResolved(household_id=household_id)] if state.overdue_for else []
    return [visited, *late]


def revisit_overdue(state: HouseholdCare, household_id: str, due_at: datetime, now: datetime) -> list[DomainEvent]:
    """The overdue, once for this due time, if no visit moved the deadline meanwhile."""
    if state.revisit_due_at is None or state.revisit_due_at != due_at or now < due_at or state.overdue_for == due_at:
        return []
    return [HouseholdRevisitOverdue(household_id=household_id, due_at=due_at)]


# -- contacts with a resident ----------------------------------------------------------------


@dataclass(frozen=True)
class ResidentCare:
    version: int = 0
    community_id: str | None = None
    gone: bool = False
    erased: bool = False
    elderly: bool = False
    last_contacted_on: str | None = None
    contact_due_at: datetime | None = None
    """Set while the resident is on the elderly-alone ledger."""
    overdue_for: datetime | None = None


def evolve_resident(state: ResidentCare, envelope: Envelope) -> ResidentCare:
    data = envelope.data
    state = replace(state, version=envelope.version, community_id=envelope.community_id)
    match envelope.type:
        case ResidentRegistered.event_type:
            return state
        case ResidentLabelled.event_type if data["label"] == ELDERLY:
            return replace(state, elderly=True, contact_due_at=contact_due(envelope), overdue_for=None)
        case ResidentLabelCleared.event_type if data["label"] == ELDERLY:
            return replace(state, elderly=False, contact_due_at=None, overdue_for=None)
        case ResidentErased.event_type:
            return replace(state, gone=True, erased=True, contact_due_at=None)
        case ResidentMergedInto.event_type:
            return replace(state, gone=True, contact_due_at=None)
        case ResidentContacted.event_type:
            due = data.get("next_contact_due_at")
            latest = max(state.last_contacted_on or "", data["contacted_on"])
            return replace(state, last_contacted_on=latest, contact_due_at=datetime.fromisoformat(due) if due else None)
        case ElderlyContactOverdue.event_type:
            return replace(state, overdue_for=datetime.fromisoformat(data["due_at"]))
        case ElderlyContactOverdueResolved.event_type:
            return replace(state, overdue_for=None)
    return state


def replay_resident(envelopes: list[Envelope]) -> ResidentCare:
    state = ResidentCare()
    for envelope in envelopes:
        state = evolve_resident(state, envelope)
    return state


def contact(
    state: ResidentCare, resident_id: str, community_id: str, command: RecordContact, today: date, period: timedelta
) -> list[DomainEvent]:
    """The contact; while the resident is elderly and alone, the next is due a period after
    the latest contact."""
    if state.version == 0 or state.community_id != community_id:
        raise ResidentNotFound(resident_id)
    if state.gone:
        raise ResidentGone(resident_id, erased=state.erased)
    contacted_on = _not_future(command.contacted_on or today, today)
    latest = max(date.fromisoformat(state.last_contacted_on or contacted_on.isoformat()), contacted_on)
    contacted = ResidentContacted(
        resident_id=resident_id,
        contacted_on=contacted_on.isoformat(),
        how=command.how,
        contacted_by=command.contacted_by,
        note=command.note,
        next_contact_due_at=start_of(latest) + period if state.elderly else None,
    )
    late = [ElderlyContactOverdueResolved(resident_id=resident_id)] if state.overdue_for else []
    return [contacted, *late]


def contact_overdue(state: ResidentCare, resident_id: str, due_at: datetime, now: datetime) -> list[DomainEvent]:
    """The overdue, once for this due time, while the resident is still on the ledger."""
    if not state.elderly or state.gone or state.contact_due_at != due_at or now < due_at or state.overdue_for == due_at:
        return []
    return [ElderlyContactOverdue(resident_id=resident_id, due_at=due_at)]


def _not_future(day: date, today: date) -> date:
    if day > today:
        raise DateInTheFuture(day)
    return day

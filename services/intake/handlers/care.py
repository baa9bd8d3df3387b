"""Household visits and contacts with residents; and the scheduler's overdue of each."""

from __future__ import annotations

from datetime import datetime

from services.intake.domain import care as domain
from services.intake.handlers import Intake, VersionMismatch
from shared.contracts.intake import household_stream
from shared.contracts.intake_care import CONTACT_STEP, REVISIT_STEP, RecordContact, RecordHouseholdVisit
from shared.contracts.intake_residents import resident_stream
from shared.deadlines import DueDeadline
from shared.events import CommandContext, DomainEvent
from shared.eventstore import ConcurrencyConflict, EventStore

SCHEDULER = "scheduler:intake"


async def record_visit(
    intake: Intake, household_id: str, command: RecordHouseholdVisit, context: CommandContext
) -> tuple[domain.HouseholdCare, list]:
    stream = household_stream(household_id)
    state = domain.replay_household(await intake.store.load(stream))
    period = intake.policy.period(context.community_id, REVISIT_STEP)
    events = domain.visit(state, household_id, context.community_id, command, intake.today(), period)
    appended = await _append(intake.store, stream, state.version, events, context)
    for envelope in appended:
        state = domain.evolve_household(state, envelope)
    return state, appended


async def record_contact(
    intake: Intake, resident_id: str, command: RecordContact, context: CommandContext
) -> tuple[domain.ResidentCare, list]:
    stream = resident_stream(resident_id)
    state = domain.replay_resident(await intake.store.load(stream))
    period = intake.policy.period(context.community_id, CONTACT_STEP)
    events = domain.contact(state, resident_id, context.community_id, command, intake.today(), period)
    appended = await _append(intake.store, stream, state.version, events, context)
    for envelope in appended:
        state = domain.evolve_resident(state, envelope)
    return state, appended


async def record_revisit_overdue(store: EventStore, deadline: DueDeadline, now: datetime) -> None:
    """The scheduler's handler: the aggregate decides, the version guard keeps it to one writer."""
    state = domain.replay_household(await store.load(deadline.stream_id))
    household_id = deadline.stream_id.removeprefix(household_stream(""))
    events = domain.revisit_overdue(state, household_id, deadline.due_at, now)
    await store.append(deadline.stream_id, state.version, events, CommandContext.new(deadline.community_id, SCHEDULER))


async def record_contact_overdue(store: EventStore, deadline: DueDeadline, now: datetime) -> None:
    state = domain.replay_resident(await store.load(deadline.stream_id))
    resident_id = deadline.stream_id.removeprefix(resident_stream(""))
    events = domain.contact_overdue(state, resident_id, deadline.due_at, now)
    await store.append(deadline.stream_id, state.version, events, CommandContext.new(deadline.community_id, SCHEDULER))


async def _append(
    store: EventStore, stream: str, version: int, events: list[DomainEvent], context: CommandContext
) -> list:
    """A visit typed while someone else wrote the record: 412, the caller tries again."""
    try:
        return await store.append(stream, version, events, context)
    except ConcurrencyConflict as conflict:
        raise VersionMismatch(await store.stream_version(stream)) from conflict

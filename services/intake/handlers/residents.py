"""Residents: seal a person's data, find possible duplicates, merge, erase."""

from __future__ import annotations

import uuid
from typing import Any

from services.intake import registry
from services.intake.domain import households
from services.intake.domain import residents as domain
from services.intake.domain.care import ELDERLY
from services.intake.handlers import Intake, VersionMismatch
from shared.sealing import NewKeys
from shared.contracts.intake_care import CONTACT_STEP
from shared.contracts.intake import PersonRecord, household_stream
from shared.contracts.intake_residents import SEALED_FIELDS, SEALED_LABEL_DETAILS, resident_stream
from shared.events import CommandContext
from shared.masking import mask_id_number, mask_phone
from shared.eventstore import ConcurrencyConflict, StreamAppend


def person_resident_id(household_id: str, slot: int) -> str:
    """The resident registered for the `slot`-th person of a household (0: the head):
    the same on a retry, so a retried registration never makes a second person."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fivezero:household:{household_id}:person:{slot}"))


def new_residents_keys(intake: Intake, people: list[tuple[str, Any]]) -> NewKeys:
    """Keys for the new residents among (resident id, person) who have personal data to seal."""
    return intake.sealer.new_keys(
        resident_id for resident_id, person in people if any(getattr(person, field, None) for field in SEALED_FIELDS)
    )


async def sealed(
    intake: Intake, people: list[tuple[str, dict[str, Any]]], *, new_keys: NewKeys | None = None
) -> list[dict[str, Any]]:
    """Each (resident id, person) with the person's data sealed under the resident's key,
    all in one go: under `new_keys` (new residents, keys stored with their events), or
    under the keys they have (one lookup; one write for any missing)."""
    places = [(index, field) for index, (_rid, person) in enumerate(people) for field in SEALED_FIELDS if person.get(field)]
    items = [(people[i][0], field, people[i][1][field]) for i, field in places]
    if new_keys is not None:
        values = intake.sealer.seal_new(items, new_keys)
    else:
        values = await intake.sealer.seal_many(items)
    result = [dict(person) for _rid, person in people]
    for (index, field), value in zip(places, values, strict=True):
        result[index][field] = value
    return result


async def opened(intake: Intake, person: dict[str, Any]) -> dict[str, Any]:
    """`person` with its sealed fields opened (None where the resident is erased)."""
    result = dict(person)
    for field in SEALED_FIELDS:
        if result.get(field) and result.get("resident_id"):
            result[field] = await intake.sealer.unseal(result[field], field)
    return result


async def masked(intake: Intake, person: dict[str, Any]) -> dict[str, Any]:
    """`person` as a list or a write's answer shows it: personal data masked."""
    result = await opened(intake, person)
    for field, mask in (("phone", mask_phone), ("id_number", mask_id_number)):
        result[field] = mask(result.get(field))
    return result


def index_entry(intake: Intake, resident_id: str, person: Any) -> registry.Entry:
    return registry.Entry(
        resident_id, person.name, person.birth_month, registry.id_digest(intake.digest_key, person.id_number)
    )


async def load(intake: Intake, resident_id: str) -> domain.Resident:
    return domain.replay(resident_id, await intake.store.load(resident_stream(resident_id)))


async def merge_residents(
    intake: Intake, survivor_id: str, duplicate_id: str, context: CommandContext
) -> tuple[domain.Resident, domain.Resident]:
    """Both records as they now stand: the survivor and the duplicate merged into it."""
    survivor, duplicate = await load(intake, survivor_id), await load(intake, duplicate_id)
    for_survivor, for_duplicate = domain.merge(survivor, duplicate, context.community_id)
    try:
        await intake.store.append_all(
            [
                StreamAppend(resident_stream(survivor_id), survivor.version, for_survivor),
                StreamAppend(resident_stream(duplicate_id), duplicate.version, for_duplicate),
            ],
            context,
        )
    except ConcurrencyConflict:
        return await merge_residents(intake, survivor_id, duplicate_id, context)
    await registry.forget(intake.store.engine, [duplicate_id])
    return await load(intake, survivor_id), await load(intake, duplicate_id)


async def erase_resident(intake: Intake, resident_id: str, reason: str, context: CommandContext) -> domain.Resident:
    """Destroys the keys first (the resident's and those of records merged into it): a
    crash after that leaves the data unreadable, never readable."""
    state = await load(intake, resident_id)
    events = domain.erase(state, context.community_id, reason)
    for subject in (resident_id, *state.absorbed):
        await intake.sealer.erase(subject)
    await registry.forget(intake.store.engine, [resident_id, *state.absorbed])
    try:
        await intake.store.append(resident_stream(resident_id), state.version, events, context)
    except ConcurrencyConflict:
        return await erase_resident(intake, resident_id, reason, context)
    return await load(intake, resident_id)


async def open_sealed(intake: Intake, items: list[tuple[str, str]]) -> list[str | None]:
    """Plaintexts of sealed values (None once their resident is erased)."""
    return await intake.sealer.unseal_many(items)


async def label_resident(intake: Intake, resident_id: str, command: Any, context: CommandContext) -> domain.Resident:
    state = await load(intake, resident_id)
    details = command.model_dump(mode="json", exclude={"label", "since", "reason", "until"})
    for field in SEALED_LABEL_DETAILS.get(command.label, ()):
        if details.get(field) is not None:
            details[field] = await intake.sealer.seal(resident_id, f"{command.label}.{field}", str(details[field]))
    until = getattr(command, "until", None)
    contact_due_at = (
        intake.policy.due(context.community_id, CONTACT_STEP, intake.clock.now()) if command.label == ELDERLY else None
    )
    events = domain.label(
        state, context.community_id, command.label, command.since, command.reason, details, until, intake.today(),
        contact_due_at,
    )
    return await _append(intake, state, events, context)


async def clear_label(intake: Intake, resident_id: str, name: str, command: Any, context: CommandContext) -> domain.Resident:
    state = await load(intake, resident_id)
    events = domain.clear_label(state, context.community_id, name, command.on, command.reason, intake.today())
    return await _append(intake, state, events, context)


async def renew_label(intake: Intake, resident_id: str, name: str, command: Any, context: CommandContext) -> domain.Resident:
    state = await load(intake, resident_id)
    events = domain.renew_label(state, context.community_id, name, command.until, command.reason, intake.today())
    return await _append(intake, state, events, context)


async def _append(intake: Intake, state: domain.Resident, events: list, context: CommandContext) -> domain.Resident:
    """A stale read loses to the writer who got there first: 412, the caller rereads."""
    try:
        appended = await intake.store.append(resident_stream(state.resident_id or ""), state.version, events, context)
    except ConcurrencyConflict as conflict:
        raise VersionMismatch(await intake.store.stream_version(resident_stream(state.resident_id or ""))) from conflict
    for envelope in appended:
        state = domain.evolve(state, envelope)
    return state


async def move_resident(
    intake: Intake, resident_id: str, command: Any, context: CommandContext
) -> tuple[domain.Resident, dict[str, int]]:
    """The resident's move, and both households' member lists, in one transaction; the
    resident as they now stand and the new version of each household changed."""
    state = await load(intake, resident_id)
    leaving = await _household(intake, state.household_id)
    joining = await _household(intake, command.household_id)
    events = domain.move(
        state, context.community_id, leaving, joining, command.household_id, command.relation, command.on, command.reason
    )
    appends = [StreamAppend(resident_stream(resident_id), state.version, events)]
    if leaving is not None and leaving.exists:
        appends.append(StreamAppend(household_stream(state.household_id), leaving.version, households.member_left(leaving, resident_id)))
    if joining is not None:
        member = PersonRecord.model_validate({**(state.person or {}), "relation": command.relation, "resident_id": resident_id})
        appends.append(StreamAppend(household_stream(command.household_id), joining.version, households.member_joined(joining, member)))
    try:
        appended = await intake.store.append_all(appends, context)
    except ConcurrencyConflict:
        return await move_resident(intake, resident_id, command, context)
    changed = {e.data["household_id"]: e.version for e in appended if e.stream_id != resident_stream(resident_id)}
    return await load(intake, resident_id), changed


async def _household(intake: Intake, household_id: str | None) -> households.Household | None:
    if household_id is None:
        return None
    return households.replay(await intake.store.load(household_stream(household_id)))

"""Households: register (with a resident for every person, in one transaction), change, read."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime
from typing import Any

from services.intake import registry
from services.intake.commands import ChangeHousehold, Person, RegisterHousehold
from services.intake.domain import households as domain
from services.intake.domain import residents
from services.intake.events import household_stream
from services.intake.handlers import Intake, VersionMismatch
from services.intake.handlers.residents import (
    index_entry,
    load,
    masked,
    new_residents_keys,
    opened,
    person_resident_id,
    sealed,
)
from shared.contracts.intake import AddressRecord, PersonRecord
from shared.contracts.intake_care import REVISIT_STEP
from shared.contracts.intake_residents import ResidentRecord, resident_stream
from shared.events import CommandContext
from shared.eventstore import ConcurrencyConflict, StreamAppend
from shared.eventstore_writers import Alongside
from shared.sealing import KeysTaken, NewKeys
from sqlalchemy.ext.asyncio import AsyncConnection

HEAD_RELATION = "02"  # GB/T 4761 户主


def new_household_id(community_id: str, idempotency_key: str | None) -> str:
    """A retried request with the same Idempotency-Key names the same household."""
    if idempotency_key:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fivezero:{community_id}:household:{idempotency_key}"))
    return str(uuid.uuid4())


def request_digest(intake: Intake, command: RegisterHousehold) -> str:
    return hmac.new(intake.digest_key, command.model_dump_json().encode(), hashlib.sha256).hexdigest()


async def register_household(
    intake: Intake,
    household_id: str,
    command: RegisterHousehold,
    context: CommandContext,
    *,
    look_first: bool = False,
    keys_exist: bool = False,
) -> tuple[domain.Household, bool, list[list[registry.PossibleDuplicate]]]:
    """The household; whether this call created it (False: a retry of the same request);
    and for each person (head first) the residents already registered who may be them.
    A new household is the rule, so the stream is read only after the append's version
    guard found it taken (a retried request, or its Idempotency-Key reused): one read
    fewer per registration. `look_first`: read it before appending."""
    state = domain.replay(await intake.store.load(household_stream(household_id)) if look_first else [])
    digest = request_digest(intake, command)
    people = residents_of(household_id, command)
    entries = [index_entry(intake, resident_id, person) for resident_id, person in people]
    duplicates = await registry.possible_duplicates(intake.store.engine, context.community_id, entries)
    if domain.is_retry(state, household_id, context.community_id, digest):
        return state, False, duplicates
    new_keys = None if keys_exist else new_residents_keys(intake, people)
    [records] = await sealed_people(intake, [people], new_keys)
    revisit_due_at = intake.policy.due(context.community_id, REVISIT_STEP, intake.clock.now())
    appends = registration(household_id, command, records, digest, revisit_due_at)
    try:
        appended = await intake.store.append_all(
            appends, context, alongside=residents_written(context.community_id, entries, new_keys)
        )
    except ConcurrencyConflict:
        return await register_household(intake, household_id, command, context, look_first=True)
    except KeysTaken:
        # Keys stored by an earlier attempt that wrote nothing else: seal under those.
        return await register_household(
            intake, household_id, command, context, look_first=look_first, keys_exist=True
        )
    if new_keys is not None:
        new_keys.adopt()
    for envelope in appended[: len(appends[0].events)]:
        state = domain.evolve(state, envelope)
    return state, True, duplicates


def residents_of(household_id: str, command: RegisterHousehold) -> list[tuple[str, Person]]:
    """The head and members (head first), each with the resident id they are registered as."""
    people = [command.head, *command.members]
    return [(person_resident_id(household_id, slot), person) for slot, person in enumerate(people)]


async def sealed_people(
    intake: Intake, households: list[list[tuple[str, Person]]], new_keys: NewKeys | None
) -> list[list[PersonRecord]]:
    """Each household's people as recorded: personal data sealed (under `new_keys`, or the
    keys the residents have), resident id set. All households' values are sealed at once."""
    flat = [(resident_id, person.model_dump()) for people in households for resident_id, person in people]
    records = iter(
        PersonRecord.model_validate({**person, "resident_id": resident_id})
        for (resident_id, _plain), person in zip(flat, await sealed(intake, flat, new_keys=new_keys), strict=True)
    )
    return [[next(records) for _ in people] for people in households]


def residents_written(community_id: str, entries: list[registry.Entry], new_keys: NewKeys | None) -> Alongside:
    """What goes in the transaction of new residents' events: their keys and index entries."""

    async def write(conn: AsyncConnection) -> None:
        if new_keys is not None:
            await new_keys.store(conn)
        await registry.record_in(conn, community_id, entries)

    return write


def registration(
    household_id: str, command: RegisterHousehold, records: list[PersonRecord], digest: str, revisit_due_at: datetime
) -> list[StreamAppend]:
    """The household's new stream (first), then a new stream for each of its people."""
    events = domain.register(household_id, command, records, digest, revisit_due_at)
    address = AddressRecord.model_validate(command.address.model_dump())
    return [
        StreamAppend(household_stream(household_id), 0, events),
        *(_resident_registered(record, address, household_id) for record in records),
    ]


async def change_household(
    intake: Intake,
    household_id: str,
    expected_version: int,
    command: ChangeHousehold,
    context: CommandContext,
) -> domain.Household:
    """A new member (no one of that name and birth month before) joins as a new resident."""
    stream = household_stream(household_id)
    state = domain.replay(await intake.store.load(stream))
    sections = domain.changes(state, household_id, context.community_id, command, await unsealed(intake, state.document))
    if state.version != expected_version:
        raise VersionMismatch(state.version)
    known = {(p["name"], p["birth_month"]): p["resident_id"] for p in _people(state.document) if p.get("resident_id")}
    address = sections.get("address") or AddressRecord.model_validate(state.document["address"])
    joined: list[StreamAppend] = []
    entries: list[registry.Entry] = []
    for name in ("head", "members"):
        if name not in sections:
            continue
        recorded = []
        for person in sections[name] if name == "members" else [sections[name]]:
            resident_id = known.get((person.name, person.birth_month)) or str(uuid.uuid4())
            [person_sealed] = await sealed(intake, [(resident_id, person.model_dump())])
            record = PersonRecord.model_validate({**person_sealed, "resident_id": resident_id})
            recorded.append(record)
            if (person.name, person.birth_month) not in known:
                joined.append(_resident_registered(record, address, household_id))
                entries.append(index_entry(intake, resident_id, person))
            else:
                joined.append(await _resident_changed(intake, record, sections.get("address")))
        sections[name] = recorded if name == "members" else recorded[0]
    events = domain.change(household_id, sections)
    if "members" in sections:  # members no longer listed leave the household
        listed = {record.resident_id for record in sections["members"]}
        for person in state.document.get("members") or []:
            if person.get("resident_id") and person["resident_id"] not in listed:
                joined.append(await _resident_left(intake, person["resident_id"], household_id))
    if "address" in sections:  # everyone else in the household moves with it
        touched = {append.stream_id for append in joined}
        for person in _people(state.document):
            if person.get("resident_id") and resident_stream(person["resident_id"]) not in touched:
                joined.append(await _resident_changed(intake, PersonRecord.model_validate(person), sections["address"]))
    try:
        appended = await intake.store.append_all(
            [StreamAppend(stream, state.version, events), *joined],
            context,
            alongside=residents_written(context.community_id, entries, None),
        )
    except ConcurrencyConflict as conflict:
        raise VersionMismatch(await intake.store.stream_version(stream)) from conflict
    for envelope in appended[: len(events)]:
        state = domain.evolve(state, envelope)
    return state


async def get_household(intake: Intake, household_id: str, community_id: str) -> domain.Household:
    state = domain.replay(await intake.store.load(household_stream(household_id)))
    if not state.exists or state.community_id != community_id:
        raise domain.HouseholdNotFound(household_id)
    return state


async def unsealed(intake: Intake, document: dict[str, Any]) -> dict[str, Any]:
    """The household document with its people's personal data opened (for comparing)."""
    if not document:
        return document
    head, *members = [await opened(intake, person) for person in _people(document)]
    return {**document, "head": head, "members": members}


async def masked_document(intake: Intake, document: dict[str, Any]) -> dict[str, Any]:
    """The household as intake answers it: personal data masked (the gateway shows more)."""
    head, *members = [await masked(intake, person) for person in _people(document)]
    return {**document, "head": head, "members": members}


def _people(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [document["head"], *(document.get("members") or [])] if document else []


async def _resident_left(intake: Intake, resident_id: str, household_id: str) -> StreamAppend:
    state = await load(intake, resident_id)
    events = residents.left_household(state, household_id, intake.today())
    return StreamAppend(resident_stream(resident_id), state.version, events)


async def _resident_changed(intake: Intake, record: PersonRecord, address: AddressRecord | None) -> StreamAppend:
    state = await load(intake, record.resident_id)
    events = residents.change(state, ResidentRecord.model_validate(record.model_dump()), address)
    return StreamAppend(resident_stream(record.resident_id), state.version, events)


def _resident_registered(record: PersonRecord, address: AddressRecord, household_id: str) -> StreamAppend:
    person = ResidentRecord.model_validate(record.model_dump())
    relation = record.relation or HEAD_RELATION
    events = residents.register(record.resident_id, person, address, household_id, relation)
    return StreamAppend(resident_stream(record.resident_id), 0, events)

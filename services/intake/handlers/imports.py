"""Households imported from a survey sheet: every new household and its residents in one
transaction, none registered twice however often the file is imported."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from services.intake.domain import households as domain
from services.intake.domain import imports as rules
from services.intake.events import household_stream
from services.intake.handlers import Intake
from services.intake.handlers.households import (
    registration,
    request_digest,
    residents_of,
    residents_written,
    sealed_people,
)
from services.intake.handlers.residents import index_entry, new_residents_keys
from shared.contracts.intake_imports import ImportedHousehold, ImportHouseholds
from shared.contracts.intake_residents import SEALED_FIELDS
from shared.contracts.intake_care import REVISIT_STEP
from shared.events import CommandContext
from shared.eventstore import ConcurrencyConflict
from shared.sealing import KeysTaken

Status = Literal["registered", "already_present"]


@dataclass(frozen=True)
class Imported:
    row: int
    household_id: str
    status: Status


def imported_household_id(community_id: str, key: str) -> str:
    """The same household (by its natural key) gets the same id on every import."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fivezero:{community_id}:household-key:{key}"))


async def import_households(
    intake: Intake, command: ImportHouseholds, context: CommandContext, retries: int = 2, keys_exist: bool = False
) -> list[Imported]:
    """Registers the households not registered yet; raises HouseholdsDiffer, writing nothing,
    if any is registered with other content. ConcurrencyConflict (nothing written) if other
    writers keep registering the same households under it."""
    items = command.households
    ids = [imported_household_id(context.community_id, item.key) for item in items]
    loaded = await intake.store.load_many([household_stream(household_id) for household_id in ids])
    states = [domain.replay(loaded.get(household_stream(household_id), [])) for household_id in ids]
    digests = [request_digest(intake, item.household) for item in items]
    present = await _present(intake, items, ids, states, digests, context.community_id)
    rows = zip(items, ids, states, digests, present, strict=True)
    new, differing = [], []
    for item, household_id, state, digest, is_present in rows:
        if not state.exists:
            new.append((item, household_id, digest))
        elif not is_present:
            differing.append((item.row, item.household.head.name))
    if differing:
        raise rules.HouseholdsDiffer(differing)
    people = [residents_of(household_id, item.household) for item, household_id, _ in new]
    new_keys = None if keys_exist else new_residents_keys(intake, [person for household in people for person in household])
    records = await sealed_people(intake, people, new_keys)
    revisit_due_at = intake.policy.due(context.community_id, REVISIT_STEP, intake.clock.now())
    appends = [
        append
        for (item, household_id, digest), recorded in zip(new, records, strict=True)
        for append in registration(household_id, item.household, recorded, digest, revisit_due_at)
    ]
    entries = [index_entry(intake, resident_id, person) for household in people for resident_id, person in household]
    try:
        await intake.store.append_all(
            appends, context, alongside=residents_written(context.community_id, entries, new_keys)
        )
    except ConcurrencyConflict:
        if not retries:
            raise
        # Another import of these households got there first: look again at what stands now.
        return await import_households(intake, command, context, retries - 1, keys_exist)
    except KeysTaken:
        # Keys stored by an earlier attempt that wrote nothing else: seal under those.
        return await import_households(intake, command, context, retries, keys_exist=True)
    if new_keys is not None:
        new_keys.adopt()
    return [
        Imported(item.row, household_id, "already_present" if state.exists else "registered")
        for item, household_id, state in zip(items, ids, states, strict=True)
    ]


async def _present(
    intake: Intake,
    items: list[ImportedHousehold],
    ids: list[str],
    states: list[domain.Household],
    digests: list[str],
    community_id: str,
) -> list[bool]:
    """Whether each registered household is what the sheet says: registered from this very
    content, or holding it now (its personal data opened, only where that must be asked)."""
    present = [rules.registered_from(state, digest) for state, digest in zip(states, digests, strict=True)]
    to_open = [index for index, state in enumerate(states) if state.exists and not present[index]]
    documents = await _opened([states[index].document for index in to_open], intake)
    for index, document in zip(to_open, documents, strict=True):
        present[index] = rules.holds(states[index], ids[index], community_id, items[index].household, document)
    return present


async def _opened(documents: list[dict[str, Any]], intake: Intake) -> list[dict[str, Any]]:
    """Household documents with their people's sealed fields opened, all in one lookup."""
    people = [[document["head"], *(document.get("members") or [])] for document in documents]
    places = [
        (d, p, field) for d, persons in enumerate(people) for p, person in enumerate(persons) for field in SEALED_FIELDS
        if person.get(field) and person.get("resident_id")
    ]
    values = await intake.sealer.unseal_many([(people[d][p][field], field) for d, p, field in places])
    opened = [[dict(person) for person in persons] for persons in people]
    for (d, p, field), value in zip(places, values, strict=True):
        opened[d][p][field] = value
    return [{**document, "head": persons[0], "members": persons[1:]} for document, persons in zip(documents, opened)]

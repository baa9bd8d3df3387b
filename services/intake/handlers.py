"""One short function per command: load the stream, decide, append with the expected version."""

from __future__ import annotations

import uuid

from services.intake import domain
from services.intake.commands import ChangeHousehold, RegisterHousehold
from services.intake.events import household_stream
from shared.events import CommandContext
from shared.eventstore import ConcurrencyConflict, EventStore


class VersionMismatch(Exception):
    """The caller's `If-Match` version is not the household's current version."""

    def __init__(self, current: int):
        super().__init__(f"current version is {current}")
        self.current = current


def new_household_id(community_id: str, idempotency_key: str | None) -> str:
    """A retried request with the same Idempotency-Key names the same household."""
    if idempotency_key:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fivezero:{community_id}:household:{idempotency_key}"))
    return str(uuid.uuid4())


async def register_household(
    store: EventStore, household_id: str, command: RegisterHousehold, context: CommandContext
) -> tuple[domain.Household, bool]:
    """The household, and whether this call created it (False: a retry of the same request).

    A new household id is the common case, so it is appended as new without loading the
    stream first: the store refuses it when the stream exists (a retry, or a clash), and
    only then is the stream loaded and the registration decided against it.
    """
    stream = household_stream(household_id)
    new = domain.Household()
    try:
        appended = await store.append(
            stream, new.version, domain.register(new, household_id, context.community_id, command), context
        )
    except ConcurrencyConflict:
        return await _register_existing(store, household_id, command, context)
    return domain.replay(appended), True


async def _register_existing(
    store: EventStore, household_id: str, command: RegisterHousehold, context: CommandContext
) -> tuple[domain.Household, bool]:
    stream = household_stream(household_id)
    state = domain.replay(await store.load(stream))
    events = domain.register(state, household_id, context.community_id, command)
    try:
        appended = await store.append(stream, state.version, events, context)
    except ConcurrencyConflict:
        return await _register_existing(store, household_id, command, context)
    for envelope in appended:
        state = domain.evolve(state, envelope)
    return state, bool(appended)


async def change_household(
    store: EventStore,
    household_id: str,
    expected_version: int,
    command: ChangeHousehold,
    context: CommandContext,
) -> domain.Household:
    stream = household_stream(household_id)
    state = domain.replay(await store.load(stream))
    events = domain.change(state, household_id, context.community_id, command)
    if state.version != expected_version:
        raise VersionMismatch(state.version)
    try:
        appended = await store.append(stream, state.version, events, context)
    except ConcurrencyConflict as conflict:
        raise VersionMismatch(await store.stream_version(stream)) from conflict
    for envelope in appended:
        state = domain.evolve(state, envelope)
    return state


async def get_household(store: EventStore, household_id: str, community_id: str) -> domain.Household:
    state = domain.replay(await store.load(household_stream(household_id)))
    if not state.exists or state.community_id != community_id:
        raise domain.HouseholdNotFound(household_id)
    return state

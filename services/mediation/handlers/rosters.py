"""The rosters: register, change or remove a mediator or a unit (the phone sealed under the
entry's own subject), read one, and check the roster ids a session names."""

from __future__ import annotations

from typing import Any

from services.mediation.domain import rosters as domain
from services.mediation.handlers import VersionMismatch
from shared.contracts.mediation_requests import RecordSession
from shared.contracts.mediation_rosters import mediator_stream, mediator_subject, unit_stream, unit_subject
from shared.events import CommandContext
from shared.eventstore import ConcurrencyConflict, EventStore
from shared.masking import mask_phone
from shared.sealing import Sealer

STREAMS = {"mediator": mediator_stream, "unit": unit_stream}
SUBJECTS = {"mediator": mediator_subject, "unit": unit_subject}


async def load(store: EventStore, kind: str, entry_id: str) -> domain.Entry:
    return domain.replay(await store.load(STREAMS[kind](entry_id)))


async def sealed_fields(sealer: Sealer, kind: str, entry_id: str, command: Any) -> dict[str, Any]:
    """The command's fields as the event records them: the phone sealed, with its masked form."""
    fields = command.model_dump()
    if fields.get("phone") is not None:
        phone = fields["phone"]
        fields |= {"phone": await sealer.seal(SUBJECTS[kind](entry_id), "phone", phone), "phone_masked": mask_phone(phone)}
    return fields


async def register(
    store: EventStore, sealer: Sealer, kind: str, entry_id: str, command: Any, context: CommandContext
) -> tuple[domain.Entry, bool]:
    """The entry, and whether this call registered it (False: a retry of the same request)."""
    state = await load(store, kind, entry_id)
    events = domain.register(state, kind, entry_id, await sealed_fields(sealer, kind, entry_id, command) if not state.exists else {})
    try:
        appended = await store.append(STREAMS[kind](entry_id), state.version, events, context)
    except ConcurrencyConflict:  # the same key raced itself: the winner's entry decides
        return await register(store, sealer, kind, entry_id, command, context)
    return _after(state, appended), bool(appended)


async def change(
    store: EventStore, sealer: Sealer, kind: str, entry_id: str, expected_version: int, command: Any | None,
    context: CommandContext,
) -> domain.Entry:
    """Changes the entry (`command`) or removes it (`command` None: see `remove`) at the caller's If-Match."""
    state = await load(store, kind, entry_id)
    if not state.exists or state.community_id != context.community_id:
        raise domain.RosterEntryNotFound(kind, entry_id)
    if state.version != expected_version:
        raise VersionMismatch(state.version)
    events = domain.change(state, kind, entry_id, context.community_id, await sealed_fields(sealer, kind, entry_id, command))
    return await _append(store, kind, entry_id, state, events, context)


async def remove(
    store: EventStore, kind: str, entry_id: str, expected_version: int, reason: str | None, context: CommandContext
) -> domain.Entry:
    state = await load(store, kind, entry_id)
    if not state.exists or state.community_id != context.community_id:
        raise domain.RosterEntryNotFound(kind, entry_id)
    if state.version != expected_version:
        raise VersionMismatch(state.version)
    events = domain.remove(state, kind, entry_id, context.community_id, reason)
    return await _append(store, kind, entry_id, state, events, context)


async def get(store: EventStore, kind: str, entry_id: str, community_id: str) -> domain.Entry:
    state = await load(store, kind, entry_id)
    if not state.exists or state.community_id != community_id:
        raise domain.RosterEntryNotFound(kind, entry_id)
    return state


async def check_session(store: EventStore, community_id: str, command: RecordSession) -> None:
    """Every roster id a session names is an active entry of the community's roster."""
    for kind, ids in (("mediator", command.mediator_ids), ("unit", command.unit_ids)):
        for entry_id in dict.fromkeys(ids):
            domain.check_on_roster(await load(store, kind, entry_id), kind, entry_id, community_id)


async def _append(store, kind, entry_id, state, events, context) -> domain.Entry:  # noqa: ANN001
    try:
        appended = await store.append(STREAMS[kind](entry_id), state.version, events, context)
    except ConcurrencyConflict as conflict:
        raise VersionMismatch(await store.stream_version(STREAMS[kind](entry_id))) from conflict
    return _after(state, appended)


def _after(state: domain.Entry, appended: list) -> domain.Entry:
    for envelope in appended:
        state = domain.evolve(state, envelope)
    return state

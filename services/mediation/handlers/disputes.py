"""Dispute cases: register, act on one (accept, investigate, session, agreement, follow-up,
transfer, refuse, close), read one."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from services.mediation.domain import deadlines as deadline_rules
from services.mediation.domain import disputes as domain
from services.mediation.handlers import VersionMismatch
from shared.contracts.mediation import dispute_stream
from shared.contracts.mediation_requests import RegisterDispute
from shared.events import CommandContext, DomainEvent
from shared.eventstore import ConcurrencyConflict, EventStore


def new_dispute_id(community_id: str, idempotency_key: str | None) -> str:
    """A retried request with the same Idempotency-Key names the same case."""
    if idempotency_key:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fivezero:{community_id}:dispute:{idempotency_key}"))
    return str(uuid.uuid4())


async def register_dispute(
    store: EventStore, dispute_id: str, command: RegisterDispute, context: CommandContext
) -> tuple[domain.Dispute, bool]:
    """The case, and whether this call registered it (False: a retry of the same request)."""
    stream = dispute_stream(dispute_id)
    state = domain.replay(await store.load(stream))
    events = domain.register(state, dispute_id, context.community_id, command)
    try:
        appended = await store.append(stream, state.version, events, context)
    except ConcurrencyConflict:  # the same key raced itself: the winner's case decides
        return await register_dispute(store, dispute_id, command, context)
    return _after(state, appended), bool(appended)


Decision = Callable[[domain.Dispute], list[DomainEvent]]


async def act(
    store: EventStore, dispute_id: str, expected_version: int, decide: Decision, context: CommandContext
) -> domain.Dispute:
    """An action on a case at `expected_version` (the caller's If-Match). A stale version is
    refused before anything is decided (RFC 9110: a failed precondition performs nothing)."""
    stream = dispute_stream(dispute_id)
    history = await store.load(stream)
    state = domain.replay(history)
    if not state.exists or state.community_id != context.community_id:
        raise domain.DisputeNotFound(dispute_id)
    if state.version != expected_version:
        raise VersionMismatch(state.version)
    events = decide(state)
    # A step met late: its `…OverdueResolved` goes first, so the case's last event (and the
    # version its document shows) is the action's own.
    events = [*deadline_rules.resolutions(history, events), *events]
    try:
        appended = await store.append(stream, state.version, events, context)
    except ConcurrencyConflict as conflict:
        raise VersionMismatch(await store.stream_version(stream)) from conflict
    return _after(state, appended)


async def get_dispute(store: EventStore, dispute_id: str, community_id: str) -> domain.Dispute:
    state = domain.replay(await store.load(dispute_stream(dispute_id)))
    if not state.exists or state.community_id != community_id:
        raise domain.DisputeNotFound(dispute_id)
    return state


def _after(state: domain.Dispute, appended: list) -> domain.Dispute:
    for envelope in appended:
        state = domain.evolve(state, envelope)
    return state

"""The rosters' aggregates: a mediator (辖区调解员) and a unit sharing mediation duty
(辖区单位参与调解责任). Registered, changed, removed; a removed entry changes no more, and
a session can no longer name it. Pure: the handler seals the phone before deciding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.mediation.domain import DomainError
from shared.contracts.mediation_rosters import (
    MediationUnitChanged,
    MediationUnitRegistered,
    MediationUnitRemoved,
    MediatorChanged,
    MediatorRegistered,
    MediatorRemoved,
    roster_document,
)
from shared.events import DomainEvent, Envelope

KINDS = {
    "mediator": ("调解员", "mediator", MediatorRegistered, MediatorChanged, MediatorRemoved, "mediator_id"),
    "unit": ("参与调解单位", "mediation unit", MediationUnitRegistered, MediationUnitChanged, MediationUnitRemoved, "unit_id"),
}


class RosterEntryNotFound(DomainError):
    code = "not_found"

    def __init__(self, kind: str, entry_id: str):
        zh, en = KINDS[kind][:2]
        super().__init__(f"找不到该{zh}：{entry_id}", f"no such {en}: {entry_id}")


class RosterEntryRemoved(DomainError):
    code = "illegal_transition"

    def __init__(self, kind: str, entry_id: str):
        zh, en = KINDS[kind][:2]
        super().__init__(f"该{zh}已从名册中移除，不能再修改：{entry_id}",
                         f"the {en} was removed from the roster and changes no more: {entry_id}")


class NotOnRoster(DomainError):
    """A session names by id someone not on this community's roster (or removed from it)."""

    code = "illegal_transition"

    def __init__(self, kind: str, entry_id: str):
        zh, en = KINDS[kind][:2]
        super().__init__(f"{zh} {entry_id} 不在本社区名册中（或已移除）",
                         f"{en} {entry_id} is not on this community's roster (or was removed)")


@dataclass(frozen=True)
class Entry:
    version: int = 0
    community_id: str | None = None
    removed: bool = False
    document: dict[str, Any] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return self.version > 0


def evolve(state: Entry, envelope: Envelope) -> Entry:
    document = roster_document(state.document or None, envelope)
    return Entry(
        version=envelope.version,
        community_id=state.community_id or envelope.community_id,
        removed=bool(document.get("removed")),
        document=document,
    )


def replay(envelopes: list[Envelope]) -> Entry:
    state = Entry()
    for envelope in envelopes:
        state = evolve(state, envelope)
    return state


def register(state: Entry, kind: str, entry_id: str, fields: dict[str, Any]) -> list[DomainEvent]:
    """Nothing when it exists already: a retry with the same Idempotency-Key."""
    if state.exists:
        return []
    return [KINDS[kind][2](**{KINDS[kind][5]: entry_id}, **fields)]


def change(state: Entry, kind: str, entry_id: str, community_id: str, fields: dict[str, Any]) -> list[DomainEvent]:
    _check(state, kind, entry_id, community_id)
    return [KINDS[kind][3](**{KINDS[kind][5]: entry_id}, **fields)]


def remove(state: Entry, kind: str, entry_id: str, community_id: str, reason: str | None) -> list[DomainEvent]:
    _check(state, kind, entry_id, community_id)
    return [KINDS[kind][4](**{KINDS[kind][5]: entry_id}, reason=reason)]


def check_on_roster(state: Entry, kind: str, entry_id: str, community_id: str) -> None:
    if not state.exists or state.community_id != community_id or state.removed:
        raise NotOnRoster(kind, entry_id)


def _check(state: Entry, kind: str, entry_id: str, community_id: str) -> None:
    if not state.exists or state.community_id != community_id:
        raise RosterEntryNotFound(kind, entry_id)
    if state.removed:
        raise RosterEntryRemoved(kind, entry_id)

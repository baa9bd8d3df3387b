"""Residents: register (with a household), merge a duplicate, erase. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from services.intake.domain import DomainError
from shared.contracts.intake import AddressRecord
from shared.contracts.intake_residents import (
    ResidentAbsorbed,
    ResidentErased,
    ResidentMergedInto,
    ResidentRecord,
    ResidentRegistered,
)
from shared.events import DomainEvent, Envelope


class ResidentNotFound(DomainError):
    code = "not_found"

    def __init__(self, resident_id: str):
        super().__init__("找不到该居民", f"no such resident: {resident_id}")


class ResidentGone(DomainError):
    """Erased, or merged into another record: nothing more happens to this one."""

    def __init__(self, resident_id: str, erased: bool):
        if erased:
            super().__init__("该居民的个人信息已删除，不能再操作", f"resident {resident_id} has been erased")
        else:
            super().__init__(
                "该记录已合并到另一位居民，请对合并后的记录操作",
                f"resident {resident_id} was merged into another record; act on that one",
            )


class CannotMergeWithItself(DomainError):
    def __init__(self, resident_id: str):
        super().__init__("不能把居民与自己合并", f"cannot merge resident {resident_id} with itself")


@dataclass(frozen=True)
class Resident:
    """A resident as replayed from their stream (version 0: not registered)."""

    version: int = 0
    community_id: str | None = None
    resident_id: str | None = None
    household_id: str | None = None
    merged_into: str | None = None
    absorbed: tuple[str, ...] = ()
    erased: bool = False

    @property
    def exists(self) -> bool:
        return self.version > 0


def evolve(state: Resident, envelope: Envelope) -> Resident:
    data = envelope.data
    common = {"version": envelope.version, "community_id": envelope.community_id}
    match envelope.type:
        case ResidentRegistered.event_type:
            return _replace(state, common, household_id=data.get("household_id"))
        case ResidentMergedInto.event_type:
            return _replace(state, common, merged_into=data["survivor_id"])
        case ResidentAbsorbed.event_type:
            return _replace(state, common, absorbed=(*state.absorbed, data["duplicate_id"]))
        case ResidentErased.event_type:
            return _replace(state, common, erased=True)
    return _replace(state, common)


def replay(resident_id: str, envelopes: list[Envelope]) -> Resident:
    state = Resident(resident_id=resident_id)
    for envelope in envelopes:
        state = evolve(state, envelope)
    return state


def register(
    resident_id: str,
    person: ResidentRecord,
    address: AddressRecord,
    household_id: str | None = None,
    relation: str | None = None,
) -> list[DomainEvent]:
    return [
        ResidentRegistered(
            resident_id=resident_id, person=person, address=address, household_id=household_id, relation=relation
        )
    ]


def merge(survivor: Resident, duplicate: Resident, community_id: str) -> tuple[list[DomainEvent], list[DomainEvent]]:
    """Events for the survivor's stream and for the duplicate's stream."""
    for state in (survivor, duplicate):
        _require_active(state, community_id)
    if survivor.resident_id == duplicate.resident_id:
        raise CannotMergeWithItself(survivor.resident_id or "")
    return (
        [ResidentAbsorbed(resident_id=survivor.resident_id, duplicate_id=duplicate.resident_id)],
        [ResidentMergedInto(resident_id=duplicate.resident_id, survivor_id=survivor.resident_id)],
    )


def erase(state: Resident, community_id: str, reason: str) -> list[DomainEvent]:
    if state.exists and state.community_id == community_id and state.erased:
        return []  # erasing twice changes nothing
    if not state.exists or state.community_id != community_id:
        raise ResidentNotFound(state.resident_id or "")
    return [ResidentErased(resident_id=state.resident_id, reason=reason)]


def require_found(state: Resident, resident_id: str, community_id: str) -> None:
    if not state.exists or state.community_id != community_id:
        raise ResidentNotFound(resident_id)


def _require_active(state: Resident, community_id: str) -> None:
    require_found(state, state.resident_id or "", community_id)
    if state.erased or state.merged_into:
        raise ResidentGone(state.resident_id or "", erased=state.erased)


def _replace(state: Resident, common: dict, **changes: object) -> Resident:
    return Resident(**{**state.__dict__, **common, **changes})

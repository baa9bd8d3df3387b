"""Residents: register (with a household), merge a duplicate, erase. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime

from services.intake.domain import DomainError
from services.intake.domain.households import Household, HouseholdNotFound
from shared.contracts.intake import AddressRecord
from shared.contracts.intake_residents import (
    ResidentAbsorbed,
    ResidentChanged,
    ResidentErased,
    ResidentLabelCleared,
    ResidentLabelled,
    ResidentLabelRenewed,
    ResidentMergedInto,
    ResidentMovedHousehold,
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


class MoveNotAllowed(DomainError):
    """A move between households the rules refuse (409)."""


class LabelNotAllowed(DomainError):
    def __init__(self, detail_zh: str, detail_en: str):
        super().__init__(detail_zh, detail_en)


@dataclass(frozen=True)
class Label:
    since: str
    until: str | None = None
    cleared_on: str | None = None

    def active_on(self, today: date) -> bool:
        return self.cleared_on is None and (self.until is None or today.isoformat() <= self.until)


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
    labels: dict[str, Label] = field(default_factory=dict)
    person: dict | None = None
    """The person's details as last recorded (personal data sealed)."""

    @property
    def exists(self) -> bool:
        return self.version > 0


def evolve(state: Resident, envelope: Envelope) -> Resident:
    data = envelope.data
    common = {"version": envelope.version, "community_id": envelope.community_id}
    match envelope.type:
        case ResidentRegistered.event_type:
            return _replace(state, common, household_id=data.get("household_id"), person=data["person"])
        case ResidentChanged.event_type:
            return _replace(state, common, person=data["person"])
        case ResidentMovedHousehold.event_type:
            return _replace(state, common, household_id=data["to_household_id"])
        case ResidentMergedInto.event_type:
            return _replace(state, common, merged_into=data["survivor_id"])
        case ResidentAbsorbed.event_type:
            return _replace(state, common, absorbed=(*state.absorbed, data["duplicate_id"]))
        case ResidentErased.event_type:
            return _replace(state, common, erased=True)
        case ResidentLabelled.event_type:
            label = Label(since=data["since"], until=data.get("until"))
            return _replace(state, common, labels={**state.labels, data["label"]: label})
        case ResidentLabelCleared.event_type:
            label = replace(state.labels[data["label"]], cleared_on=data["on"])
            return _replace(state, common, labels={**state.labels, data["label"]: label})
        case ResidentLabelRenewed.event_type:
            label = replace(state.labels[data["label"]], until=data["until"])
            return _replace(state, common, labels={**state.labels, data["label"]: label})
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


def change(state: Resident, person: ResidentRecord, address: AddressRecord | None) -> list[DomainEvent]:
    """A change of a resident's details made through their household; nothing for a
    record that is erased or merged away (the household keeps what was typed)."""
    if not state.exists or state.erased or state.merged_into:
        return []
    return [ResidentChanged(resident_id=state.resident_id, person=person, address=address)]


def move(
    state: Resident,
    community_id: str,
    leaving: Household | None,
    joining: Household | None,
    to_household_id: str | None,
    relation: str | None,
    on: date,
    reason: str,
) -> list[DomainEvent]:
    """The resident's side of a move; `leaving` and `joining` are the households as they stand."""
    _require_active(state, community_id)
    if to_household_id is not None and (joining is None or not joining.exists or joining.community_id != community_id):
        raise HouseholdNotFound(to_household_id)
    if to_household_id == state.household_id:
        raise MoveNotAllowed("该居民已在此家庭中", "the resident already belongs to that household")
    if leaving is not None and leaving.document.get("head", {}).get("resident_id") == state.resident_id:
        raise MoveNotAllowed(
            "户主不能迁出，请先为该户更换户主", "the head of a household cannot move out; give the household another head first"
        )
    return [
        ResidentMovedHousehold(
            resident_id=state.resident_id,
            from_household_id=state.household_id,
            to_household_id=to_household_id,
            relation=relation,
            on=on.isoformat(),
            reason=reason,
        )
    ]


def left_household(state: Resident, household_id: str, on: date) -> list[DomainEvent]:
    """The resident's side of being dropped from a household's member list (a survey
    correction); nothing for a record that is gone or already elsewhere."""
    if not state.exists or state.erased or state.merged_into or state.household_id != household_id:
        return []
    return [
        ResidentMovedHousehold(
            resident_id=state.resident_id,
            from_household_id=household_id,
            to_household_id=None,
            relation=None,
            on=on.isoformat(),
            reason="从家庭成员名单中移出",
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


def label(
    state: Resident, community_id: str, name: str, since: date, reason: str, details: dict, until: date | None, today: date,
    contact_due_at: datetime | None = None,
) -> list[DomainEvent]:
    """`details` are the label's own fields, personal data among them already sealed."""
    _require_active(state, community_id)
    current = state.labels.get(name)
    if current is not None and current.active_on(today):
        raise LabelNotAllowed(
            f"该居民已在“{name}”台账中（自 {current.since}）；如需修改请先移出",
            f"the resident already has the {name} label (since {current.since}); clear it first to change it",
        )
    return [
        ResidentLabelled(
            resident_id=state.resident_id,
            label=name,
            since=since.isoformat(),
            reason=reason,
            details=details,
            until=until.isoformat() if until else None,
            contact_due_at=contact_due_at,
        )
    ]


def clear_label(state: Resident, community_id: str, name: str, on: date, reason: str, today: date) -> list[DomainEvent]:
    _require_active(state, community_id)
    current = _active_label(state, name, today)
    if on.isoformat() < current.since:
        raise LabelNotAllowed(
            f"移出日期 {on} 早于纳入日期 {current.since}", f"the date {on} is before the label's start {current.since}"
        )
    return [ResidentLabelCleared(resident_id=state.resident_id, label=name, on=on.isoformat(), reason=reason)]


def renew_label(state: Resident, community_id: str, name: str, until: date, reason: str, today: date) -> list[DomainEvent]:
    """Extends a support period (a lapsed one too, as long as the label was never cleared)."""
    _require_active(state, community_id)
    current = state.labels.get(name)
    if current is None or current.cleared_on is not None or current.until is None:
        raise LabelNotAllowed(
            f"该居民没有可续期的“{name}”标签", f"the resident has no {name} label with a support period to renew"
        )
    if until.isoformat() <= max(current.until, today.isoformat()):
        raise LabelNotAllowed(
            f"新的期限 {until} 应晚于原期限 {current.until} 和今天",
            f"the new end {until} must be after the current end {current.until} and today",
        )
    return [ResidentLabelRenewed(resident_id=state.resident_id, label=name, until=until.isoformat(), reason=reason)]


def _active_label(state: Resident, name: str, today: date) -> Label:
    current = state.labels.get(name)
    if current is None or not current.active_on(today):
        raise LabelNotAllowed(f"该居民没有“{name}”标签", f"the resident has no active {name} label")
    return current


def require_found(state: Resident, resident_id: str, community_id: str) -> None:
    if not state.exists or state.community_id != community_id:
        raise ResidentNotFound(resident_id)


def _require_active(state: Resident, community_id: str) -> None:
    require_found(state, state.resident_id or "", community_id)
    if state.erased or state.merged_into:
        raise ResidentGone(state.resident_id or "", erased=state.erased)


def _replace(state: Resident, common: dict, **changes: object) -> Resident:
    return Resident(**{**state.__dict__, **common, **changes})

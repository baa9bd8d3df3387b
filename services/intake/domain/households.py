"""Households: decide what a command means, and evolve state from events. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.intake.commands import ChangeHousehold, RegisterHousehold
from services.intake.events import (
    AddressRecord,
    HouseholdChanged,
    HouseholdRegistered,
    PersonRecord,
    household_document,
)
from services.intake.domain import DomainError
from shared.contracts.intake import HOUSEHOLD_SECTIONS
from shared.events import DomainEvent, Envelope


class HouseholdNotFound(DomainError):
    code = "not_found"

    def __init__(self, household_id: str):
        super().__init__("找不到该户", f"no such household: {household_id}")


class HouseholdAlreadyRegistered(DomainError):
    code = "version_conflict"

    def __init__(self, household_id: str):
        super().__init__(
            "该户已登记（Idempotency-Key 已用于另一份内容）",
            "this household is already registered (the Idempotency-Key was used for other content)",
        )


@dataclass
class Household:
    """A household as replayed from its stream (version 0: not registered)."""

    version: int = 0
    community_id: str | None = None
    document: dict[str, Any] = field(default_factory=dict)
    registration: dict[str, Any] = field(default_factory=dict)
    """The registration as first recorded: a retried POST is the same request even after changes."""

    @property
    def exists(self) -> bool:
        return self.version > 0


def evolve(state: Household, envelope: Envelope) -> Household:
    return Household(
        version=envelope.version,
        community_id=envelope.community_id,
        document=household_document(state.document or None, envelope),
        registration=envelope.data if envelope.type == HouseholdRegistered.event_type else state.registration,
    )


def replay(envelopes: list[Envelope]) -> Household:
    state = Household()
    for envelope in envelopes:
        state = evolve(state, envelope)
    return state


def register(
    state: Household, household_id: str, community_id: str, command: RegisterHousehold
) -> list[DomainEvent]:
    """A new household; nothing when the same registration is retried (same Idempotency-Key)."""
    registered = HouseholdRegistered(
        household_id=household_id,
        head=_person(command.head),
        members=[_person(member) for member in command.members],
        address=AddressRecord.model_validate(command.address.model_dump()),
        can_offer=command.can_offer,
        needs=command.needs,
        remarks=command.remarks,
    )
    if not state.exists:
        return [registered]
    if state.community_id == community_id and _is_same_registration(state, registered):
        return []
    raise HouseholdAlreadyRegistered(household_id)


def change(state: Household, household_id: str, community_id: str, command: ChangeHousehold) -> list[DomainEvent]:
    if not state.exists or state.community_id != community_id:
        raise HouseholdNotFound(household_id)
    sent = command.model_fields_set
    sections: dict[str, Any] = {}
    if "head" in sent:
        sections["head"] = _person(command.head)
    if "members" in sent:
        sections["members"] = [_person(member) for member in command.members or []]
    if "address" in sent:
        sections["address"] = AddressRecord.model_validate(command.address.model_dump())
    for text_field in ("can_offer", "needs", "remarks"):
        if text_field in sent:
            sections[text_field] = getattr(command, text_field)
    changed = [name for name, value in sections.items() if _differs(state.document.get(name), value)]
    if not changed:
        return []
    return [HouseholdChanged(household_id=household_id, changed=changed, **{n: sections[n] for n in changed})]


def _is_same_registration(state: Household, registered: HouseholdRegistered) -> bool:
    data = registered.model_dump(mode="json")
    return all(state.registration.get(section) == data[section] for section in HOUSEHOLD_SECTIONS)


def _person(person: Any) -> PersonRecord:
    return PersonRecord.model_validate(person.model_dump())


def _differs(current: Any, new: Any) -> bool:
    if isinstance(new, list):
        new = [item.model_dump() for item in new]
    elif hasattr(new, "model_dump"):
        new = new.model_dump()
    return current != new

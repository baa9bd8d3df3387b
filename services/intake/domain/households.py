"""Households: decide what a command means, and evolve state from events. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
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


def is_retry(state: Household, household_id: str, community_id: str, request_digest: str) -> bool:
    """True when the household exists from this very request (same Idempotency-Key and
    content); a different request under that key is refused."""
    if not state.exists:
        return False
    if state.community_id == community_id and state.registration.get("request_digest") == request_digest:
        return True
    raise HouseholdAlreadyRegistered(household_id)


def register(
    household_id: str,
    command: RegisterHousehold,
    people: list[PersonRecord],
    request_digest: str,
    revisit_due_at: datetime | None = None,
) -> list[DomainEvent]:
    """A new household; `people` are the head and members as recorded (sealed, with resident ids)."""
    return [
        HouseholdRegistered(
            household_id=household_id,
            head=people[0],
            members=people[1:],
            address=AddressRecord.model_validate(command.address.model_dump()),
            can_offer=command.can_offer,
            needs=command.needs,
            remarks=command.remarks,
            request_digest=request_digest,
            revisit_due_at=revisit_due_at,
        )
    ]


def changes(
    state: Household, household_id: str, community_id: str, command: ChangeHousehold, current: dict[str, Any]
) -> dict[str, Any]:
    """The sections the command changes, as plain records. `current` is the household
    document with personal data unsealed, so an unchanged phone is seen as unchanged."""
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
    return {name: value for name, value in sections.items() if _differs(_plain(current.get(name)), value)}


def change(household_id: str, sections: dict[str, Any]) -> list[DomainEvent]:
    """`sections` as recorded: people sealed and with their resident ids."""
    if not sections:
        return []
    return [HouseholdChanged(household_id=household_id, changed=list(sections), **sections)]


def member_left(state: Household, resident_id: str) -> list[DomainEvent]:
    members = [m for m in state.document.get("members") or [] if m.get("resident_id") != resident_id]
    return change(state.document["id"], {"members": [PersonRecord.model_validate(m) for m in members]})


def member_joined(state: Household, member: PersonRecord) -> list[DomainEvent]:
    members = [PersonRecord.model_validate(m) for m in state.document.get("members") or []]
    return change(state.document["id"], {"members": [*members, member]})


def _plain(section: Any) -> Any:
    """A recorded section without resident ids, to compare with what a command sends."""
    if isinstance(section, list):
        return [_plain(item) for item in section]
    if isinstance(section, dict) and "resident_id" in section:
        return {key: value for key, value in section.items() if key != "resident_id"}
    return section


def _person(person: Any) -> PersonRecord:
    return PersonRecord.model_validate(person.model_dump())


def _differs(current: Any, new: Any) -> bool:
    if isinstance(new, list):
        new = [_plain(item.model_dump()) for item in new]
    elif hasattr(new, "model_dump"):
        new = _plain(new.model_dump())
    return current != new

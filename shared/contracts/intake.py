"""Events intake publishes on `fz:{intake}:events`, and the household document they build.

Event models hold plain values and check nothing: the commands checked them
before they were stored, and replaying history must never fail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.events import DomainEvent, Envelope, event

HOUSEHOLD_SECTIONS = ("head", "members", "address", "can_offer", "needs", "remarks")


class PersonRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    sex: str
    birth_month: str
    ethnicity: str
    political_status: str | None = None
    relation: str | None = None
    work_unit: str | None = None
    phone: str | None = None
    """Sealed (`shared.sealing`) under the resident's key, except in the oldest events."""
    id_number: str | None = None
    """Sealed under the resident's key."""
    remarks: str | None = None
    resident_id: str | None = None
    """The person in the residents' registry (`intake.ResidentRegistered`)."""


class AddressRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    compound: str
    building: str
    unit: str | None = None
    room: str | None = None


@event
class HouseholdRegistered(DomainEvent):
    event_type = "intake.HouseholdRegistered"

    household_id: str
    head: PersonRecord
    members: list[PersonRecord]
    address: AddressRecord
    can_offer: str | None = None
    needs: str | None = None
    remarks: str | None = None
    request_digest: str | None = None
    """Keyed digest of the request, so a retry with the same Idempotency-Key is recognised
    although its sealed fields differ (fresh nonces) from the first attempt's."""
    revisit_due_at: datetime | None = None
    """The first revisit's deadline (`shared.contracts.intake_care`)."""


@event
class HouseholdChanged(DomainEvent):
    """Only the sections named in `changed` were changed; `members` replaces the list."""

    event_type = "intake.HouseholdChanged"

    household_id: str
    changed: list[str]
    head: PersonRecord | None = None
    members: list[PersonRecord] | None = None
    address: AddressRecord | None = None
    can_offer: str | None = None
    needs: str | None = None
    remarks: str | None = None


def household_stream(household_id: str) -> str:
    return f"household-{household_id}"


def household_document(document: dict[str, Any] | None, envelope: Envelope) -> dict[str, Any]:
    """The household as a client sees it, after `envelope` (a household event) is applied."""
    data = envelope.data
    if envelope.type == HouseholdRegistered.event_type:
        document = {
            "id": data["household_id"],
            "community_id": envelope.community_id,
            **{section: data.get(section) for section in HOUSEHOLD_SECTIONS},
            "created_at": envelope.occurred_at.isoformat(),
        }
    elif envelope.type == HouseholdChanged.event_type and document is not None:
        document = {**document, **{section: data.get(section) for section in data["changed"]}}
    elif envelope.type == "intake.HouseholdVisited" and document is not None:
        document = {**document, "last_visited_on": data["visited_on"]}
    elif envelope.type.startswith("intake.HouseholdRevisit") and document is not None:
        document = dict(document)  # an overdue or its resolution: the version still moves on
    else:
        return document or {}
    document["household_size"] = 1 + len(document["members"] or [])
    document["version"] = envelope.version
    document["updated_at"] = envelope.occurred_at.isoformat()
    return document

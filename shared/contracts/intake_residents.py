"""Residents: one record per person in a community, however many ledgers name them.

A resident is registered with their household (or alone), keeps their personal data
sealed under a key of their own (`shared.sealing`), can be merged with a duplicate
record (both histories kept, linked both ways), and can be erased by destroying that
key. `phone` and `id_number` in these events are sealed values, never plaintext.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shared.contracts.intake import AddressRecord
from shared.events import DomainEvent, event

SEALED_FIELDS = ("phone", "id_number")
"""Fields that hold sealed values; their plaintext is personal data (PIPL art. 28)."""


class ResidentRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    sex: str
    birth_month: str
    ethnicity: str
    political_status: str | None = None
    work_unit: str | None = None
    phone: str | None = None
    id_number: str | None = None
    remarks: str | None = None


@event
class ResidentRegistered(DomainEvent):
    event_type = "intake.ResidentRegistered"

    resident_id: str
    person: ResidentRecord
    address: AddressRecord
    household_id: str | None = None
    relation: str | None = None
    """GB/T 4761 relation to the head; "02" (户主) for the head itself."""


@event
class ResidentChanged(DomainEvent):
    """The person's details as now recorded (on the household survey, say): a full record."""

    event_type = "intake.ResidentChanged"

    resident_id: str
    person: ResidentRecord
    address: AddressRecord | None = None


@event
class ResidentMovedHousehold(DomainEvent):
    """The resident left `from_household_id` (None: had none) for `to_household_id`
    (None: left without joining another, e.g. moved out of the community)."""

    event_type = "intake.ResidentMovedHousehold"

    resident_id: str
    from_household_id: str | None
    to_household_id: str | None
    relation: str | None
    on: str
    reason: str


@event
class ResidentMergedInto(DomainEvent):
    """This record was a duplicate; `survivor_id` is the person from now on."""

    event_type = "intake.ResidentMergedInto"

    resident_id: str
    survivor_id: str


@event
class ResidentAbsorbed(DomainEvent):
    """A duplicate record of this resident was merged into this one."""

    event_type = "intake.ResidentAbsorbed"

    resident_id: str
    duplicate_id: str


@event
class ResidentErased(DomainEvent):
    """The resident's key is destroyed: their sealed data can never be read again."""

    event_type = "intake.ResidentErased"

    resident_id: str
    reason: str


def resident_stream(resident_id: str) -> str:
    return f"resident-{resident_id}"


LABELS = ("hardship", "unemployed", "elderly_alone", "veteran_hardship", "reentry")
"""重点人群: the book's ledgers 2–6 as labels on a resident (its seventh table is never built)."""

SEALED_LABEL_DETAILS = {
    "hardship": ("cause",),
    "elderly_alone": ("relative_phone", "health"),
    "reentry": ("reason_for_custody", "released_on"),
}
"""Label details that are personal data (hardship cause, custody history, health, a
relative's phone): sealed under the resident's key like `SEALED_FIELDS`."""


@event
class ResidentLabelled(DomainEvent):
    event_type = "intake.ResidentLabelled"

    resident_id: str
    label: str
    since: str
    reason: str
    details: dict[str, str | bool | None]
    until: str | None = None
    """End of the support period (reentry): the label lapses after it unless renewed."""
    contact_due_at: datetime | None = None
    """`elderly_alone`: the first contact's deadline (`shared.contracts.intake_care`)."""


@event
class ResidentLabelCleared(DomainEvent):
    event_type = "intake.ResidentLabelCleared"

    resident_id: str
    label: str
    on: str
    reason: str


@event
class ResidentLabelRenewed(DomainEvent):
    event_type = "intake.ResidentLabelRenewed"

    resident_id: str
    label: str
    until: str
    reason: str


def sealed_field_names() -> tuple[str, ...]:
    """Every field name a sealed value is bound to: `phone`, …, `hardship.cause`, …"""
    return SEALED_FIELDS + tuple(f"{label}.{name}" for label, names in SEALED_LABEL_DETAILS.items() for name in names)

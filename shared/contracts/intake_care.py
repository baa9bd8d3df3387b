"""Keeping in touch: household visits (入户走访) and contacts with residents, with their deadlines.

A household is revisited at least once per revisit period (a year by default) after its
registration or its last visit; a resident labelled `elderly_alone` is contacted at least
once per contact period (30 days by default) after the label or the last contact. The due
time is in the event that starts each period (`revisit_due_at`, `next_visit_due_at`,
`contact_due_at`, `next_contact_due_at`); events recorded before it was (or by a path that
does not set it) fall back to the default period from the event's time (`revisit_due`,
`contact_due`), so the deadlines table and the aggregates always agree.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from pydantic import Field

from shared.contracts.intake_requests import Command, Note
from shared.deadlines import CHINA
from shared.events import DomainEvent, Envelope, event

REVISIT_STEP = "household.revisit"
CONTACT_STEP = "elderly.contact"
CARE_DEADLINE_DEFAULTS: dict[str, timedelta] = {REVISIT_STEP: timedelta(days=365), CONTACT_STEP: timedelta(days=30)}

CONTACT_WAYS = ("visit", "phone")
StaffName = Annotated[str, Field(min_length=1, max_length=50)]

# -- commands -----------------------------------------------------------------------------


class RecordHouseholdVisit(Command):
    """入户走访: who visited the household, on which day (today when not given), and a note."""

    visited_by: StaffName
    visited_on: date | None = None
    note: Note = None


class RecordContact(Command):
    """A contact with a resident: a visit at home or a phone call."""

    how: Literal["visit", "phone"]
    contacted_by: StaffName
    contacted_on: date | None = None
    note: Note = None


# -- events -------------------------------------------------------------------------------


@event
class HouseholdVisited(DomainEvent):
    event_type = "intake.HouseholdVisited"

    household_id: str
    visited_on: str
    visited_by: str
    note: str | None = None
    next_visit_due_at: datetime


@event
class HouseholdRevisitOverdue(DomainEvent):
    event_type = "intake.HouseholdRevisitOverdue"

    household_id: str
    due_at: datetime


@event
class HouseholdRevisitOverdueResolved(DomainEvent):
    """Visited after all, late."""

    event_type = "intake.HouseholdRevisitOverdueResolved"

    household_id: str


@event
class ResidentContacted(DomainEvent):
    event_type = "intake.ResidentContacted"

    resident_id: str
    contacted_on: str
    how: str
    contacted_by: str
    note: str | None = None
    next_contact_due_at: datetime | None = None
    """Set while the resident is on the elderly-alone ledger: the next contact's deadline."""


@event
class ElderlyContactOverdue(DomainEvent):
    event_type = "intake.ElderlyContactOverdue"

    resident_id: str
    due_at: datetime


@event
class ElderlyContactOverdueResolved(DomainEvent):
    """Contacted after all, late."""

    event_type = "intake.ElderlyContactOverdueResolved"

    resident_id: str


HOUSEHOLD_CARE_EVENTS = (HouseholdVisited, HouseholdRevisitOverdue, HouseholdRevisitOverdueResolved)
RESIDENT_CARE_EVENTS = (ResidentContacted, ElderlyContactOverdue, ElderlyContactOverdueResolved)


def start_of(day: date) -> datetime:
    """Midnight in China of `day`: a visit on a day counts from that day's start."""
    return datetime.combine(day, time(), CHINA)


def revisit_due(registered: Envelope) -> datetime:
    """The first revisit's deadline of a household registered by `registered`."""
    recorded = registered.data.get("revisit_due_at")
    if recorded:
        return datetime.fromisoformat(recorded)
    return registered.occurred_at + CARE_DEADLINE_DEFAULTS[REVISIT_STEP]


def contact_due(labelled: Envelope) -> datetime:
    """The first contact's deadline after an `elderly_alone` label."""
    recorded = labelled.data.get("contact_due_at")
    if recorded:
        return datetime.fromisoformat(recorded)
    return labelled.occurred_at + CARE_DEADLINE_DEFAULTS[CONTACT_STEP]

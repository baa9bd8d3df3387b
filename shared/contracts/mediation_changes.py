"""Disputes: the events that change who handles a case or what it says about itself, and
what each does to the case document (`shared.contracts.mediation.dispute_document` hands
them here).

- **The street centre** (街道矛盾纠纷大调解工作中心): a case the community transferred is the
  street's to decide. A street officer takes it over (`DisputeTakenOver`: the street then
  mediates it, and only the street acts on it) or assigns it back to the community
  (`DisputeAssignedBack`: it counts from then on as assigned by the street centre, and
  waits to be accepted again).
- **Amendments** (`DisputeDetailsAmended`): what the case learned after registering it —
  the parties' names, the real category (a case opened from a report starts as 其他 with
  parties 待查明), the cause, the place. Only the fields given change.
"""

from __future__ import annotations

from typing import Any

from shared.contracts.mediation_records import PartyRecord, PlaceRecord
from shared.events import DomainEvent, Envelope, event

STREET = "street"
COMMUNITY = "community"
HANDLERS: dict[str, tuple[str, str]] = {
    COMMUNITY: ("社区调处", "the community mediates"),
    STREET: ("街道调处", "the street centre mediates"),
}
"""Who works on a case: the community until a street officer takes it over."""

ASSIGNED_BY_STREET_CENTRE = "assigned_by_street_centre"


@event
class DisputeTakenOver(DomainEvent):
    """A street officer took the transferred case over: the street centre mediates it now."""

    event_type = "mediation.DisputeTakenOver"

    dispute_id: str
    officer: str
    """The street officer, by name."""
    remarks: str | None = None


@event
class DisputeAssignedBack(DomainEvent):
    """The street centre assigned the case back to the community (交办), with its instructions."""

    event_type = "mediation.DisputeAssignedBack"

    dispute_id: str
    officer: str
    instructions: str
    """交办意见: what the street asks the community to do."""
    remarks: str | None = None


@event
class DisputeDetailsAmended(DomainEvent):
    """What the case records about itself, corrected; a field left out is unchanged."""

    event_type = "mediation.DisputeDetailsAmended"

    dispute_id: str
    category: str | None = None
    dispute_cause: str | None = None
    parties: list[PartyRecord] | None = None
    """The whole list as it now stands; a kept party keeps its id, a new one gets the next."""
    place: PlaceRecord | None = None
    reason: str | None = None


CHANGE_EVENTS = (DisputeTakenOver, DisputeAssignedBack, DisputeDetailsAmended)

HANDOVERS = (DisputeTakenOver.event_type, DisputeAssignedBack.event_type)
"""The events after which a case's steps start again (`services.mediation.domain.deadlines`)."""

AMENDABLE = ("category", "dispute_cause", "parties", "place")


def changed_document(document: dict[str, Any], envelope: Envelope) -> dict[str, Any] | None:
    """The document after one of `CHANGE_EVENTS`; None for any other event. Labels are the
    caller's to refresh."""
    data, kind, at = envelope.data, envelope.type, envelope.occurred_at.isoformat()
    if kind == DisputeTakenOver.event_type:
        taken = {"officer": data["officer"], "remarks": data.get("remarks"), "at": at}
        return {**document, "status": "taken_over", "handled_by": STREET, "taken_over": taken}
    if kind == DisputeAssignedBack.event_type:
        assignment = {"officer": data["officer"], "instructions": data["instructions"],
                      "remarks": data.get("remarks"), "at": at, "source_before": document["source"]}
        return {**document, "status": "registered", "handled_by": COMMUNITY, "source": ASSIGNED_BY_STREET_CENTRE,
                "assigned_back": [*document.get("assigned_back", []), assignment]}
    if kind == DisputeDetailsAmended.event_type:
        changes = {name: data[name] for name in AMENDABLE if data.get(name) is not None}
        amendment = {"fields": sorted(changes), "reason": data.get("reason"), "at": at}
        return {**document, **changes, "amendments": [*document.get("amendments", []), amendment]}
    return None
